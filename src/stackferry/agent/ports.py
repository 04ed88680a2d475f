"""What the agent's service needs from the RPC layer, as protocols: the caller of a stream,
and a way to push a stream into a peer agent. agent/rpc/ implements them with gRPC (a
grpc.ServicerContext is a Caller; agent/rpc/peer.py dials peers), so the service itself
never imports grpc.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from stackferry.agent.streams import StreamHeader
from stackferry.agent.transfer import SourcePump
from stackferry.hostapi import TransferResult


class Caller(Protocol):
    """The remote caller of one streaming operation."""

    def is_active(self) -> bool:
        """False once the caller cancelled, or the call ended."""
        ...

    def add_callback(self, callback: Callable[[], None]) -> bool:
        """Runs ``callback`` when the call ends, however it ends (cancellation included)."""
        ...


class PeerPush(Protocol):
    """One stream being pushed into a peer agent's ReceiveStream."""

    def wait(self, timeout: float) -> bool:
        """True once the push is over (whichever way), False after ``timeout`` seconds."""
        ...

    def cancel(self) -> None:
        """Stops both ends: the peer sees the cancellation and aborts its receive."""
        ...

    def result(self) -> TransferResult:
        """What the peer committed. Raises the source's error first (it is the cause), else
        the peer's, as the domain error of the same kind."""
        ...


class Peer(Protocol):
    """A connection to a peer agent, made with this agent's own identity."""

    def push(self, header: StreamHeader, pump: SourcePump) -> PeerPush:
        """Streams ``header``, the pump's chunks, then a trailer with their count and checksum
        (or the source's error, so that the peer aborts instead of committing a truncated
        stream). The push owns the connection and the pump from here on."""
        ...

    def close(self) -> None:
        """Hangs up without pushing."""
        ...


class PeerDialer(Protocol):
    def dial(self, address: str) -> Peer:
        """A connection to the agent at ``address``; Unavailable when it cannot be reached."""
        ...
