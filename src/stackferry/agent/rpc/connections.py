"""This agent's connections to its peer agents, kept between streams.

A stream to a peer (a zfs or image push, a file pass) takes a connected channel and gives it
back when it ends. The next stream to that peer starts on it without a new TCP connection and
TLS handshake: the final phase's streams, after the stop, go out on the connections the live
passes opened while the app still ran. A kept channel is checked to be connected before it
is reused (a peer that restarted is dialled again); at most MAX_KEPT are kept per peer, for
at most KEEP_SECONDS.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import grpc

KEEP_SECONDS = 900.0  # as long as a final-phase ticket (the controller's 900 s)
MAX_KEPT = 8  # per peer: the final phase's streams at once, and some
REUSE_TIMEOUT = 2.0  # a kept channel that does not come back READY by then is dropped

Dial = Callable[[str], grpc.Channel]


def settles_ready(channel: grpc.Channel, timeout: float) -> bool:
    """Whether the channel is (or gets) connected: READY, rather than a failed attempt
    (TRANSIENT_FAILURE) or nothing within `timeout`."""
    settled = threading.Event()
    states: list[grpc.ChannelConnectivity] = []

    def watch(state: grpc.ChannelConnectivity) -> None:
        if state in (grpc.ChannelConnectivity.READY, grpc.ChannelConnectivity.TRANSIENT_FAILURE):
            states.append(state)
            settled.set()

    channel.subscribe(watch, try_to_connect=True)
    settled.wait(timeout)
    channel.unsubscribe(watch)
    return bool(states) and states[0] is grpc.ChannelConnectivity.READY


class Connections:
    def __init__(self, dial: Dial) -> None:
        self._dial = dial
        self._kept: dict[str, list[tuple[float, grpc.Channel]]] = {}
        self._lock = threading.Lock()

    def take(self, address: str) -> grpc.Channel:
        """A connected channel to `address`, for one stream: a kept one, else a new one
        (whose dial raises Unavailable when the peer cannot be reached)."""
        while (channel := self._kept_one(address)) is not None:
            if settles_ready(channel, REUSE_TIMEOUT):
                return channel
            channel.close()
        return self._dial(address)

    def give_back(self, address: str, channel: grpc.Channel) -> None:
        """The stream on `channel` has ended: kept for the next one, or closed."""
        with self._lock:
            kept = self._kept.setdefault(address, [])
            if len(kept) < MAX_KEPT:
                kept.append((time.monotonic(), channel))
                return
        channel.close()

    def _kept_one(self, address: str) -> grpc.Channel | None:
        """The most recently given back channel that is not too old; older ones are closed."""
        stale: list[grpc.Channel] = []
        found = None
        with self._lock:
            kept = self._kept.get(address, [])
            while kept and found is None:
                since, channel = kept.pop()
                if time.monotonic() - since < KEEP_SECONDS:
                    found = channel
                else:
                    stale.append(channel)
        for channel in stale:
            channel.close()
        return found
