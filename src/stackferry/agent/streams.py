"""The two ends every transfer is built from, whatever moves (a zfs stream, docker images).

A ByteSource produces the stream on the sending agent (``zfs send``, ``docker save``); a
ByteSink consumes it on the receiving agent (``zfs receive``, ``docker load``). The
transfer pump (agent/transfer.py) moves chunks between them and the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Received:
    """What a sink produced once committed."""

    snapshot: str = ""  # e.g. "dst/apps/web@sf-1"; "" for images
    guid: str = ""


class ByteSource(Protocol):
    def readinto(self, buf: memoryview) -> int:
        """Fills buf from the producer; returns 0 at the end of the stream."""
        ...

    def finish(self) -> None:
        """Waits for the producer; raises an AgentError (with its stderr) if it failed."""
        ...

    def abort(self) -> None:
        """Kills the producer and reaps it. Safe after finish, and twice."""
        ...


class ByteSink(Protocol):
    def write(self, data: memoryview | bytes) -> None:
        """Feeds the consumer; raises an AgentError if it died."""
        ...

    def commit(self) -> Received:
        """Ends the input, waits for the consumer, raises if it failed."""
        ...

    def abort(self) -> None:
        """Kills the consumer and removes anything partial it left. Safe twice."""
        ...
