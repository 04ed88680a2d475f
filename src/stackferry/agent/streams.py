"""The two ends every transfer is built from, whatever moves (a zfs stream, docker images),
and what the agents tell each other around the bytes.

A ByteSource produces the stream on the sending agent (``zfs send``, ``docker save``); a
ByteSink consumes it on the receiving agent (``zfs receive``, ``docker load``). The
transfer pump (agent/transfer.py) moves chunks between them and the network. A stream
opens with a StreamHeader (the one-time ticket and what it was issued for) and ends with a
StreamTrailer (count and checksum, or the sender's error).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from stackferry.agent.tickets import TransferSpec


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


@dataclass(frozen=True)
class StreamHeader:
    """The first message of a stream into a receiving agent."""

    ticket: str
    spec: TransferSpec  # what the ticket is presented for (its images are not carried)
    resumable: bool = False  # zfs receive -s: a cut stream leaves a resume token
    bytes_expected: int = 0  # 0 when unknown
    source_snapshot: str = ""  # for messages and logs
    compression: str = ""  # "" or "none": raw chunks; else tagged chunks (agent/compression.py)


@dataclass(frozen=True)
class StreamTrailer:
    """The last message of a stream: the receiver commits only if both match what it got."""

    bytes: int
    checksum: str  # "xxh3-128:<hexdigest>"
    error: str = ""  # the sender failed: the receiver must not commit


@dataclass(frozen=True)
class SendRequest:
    """One stream to send: a zfs snapshot (full, incremental or resumed) or docker images,
    pushed into a peer agent, or streamed back to the caller when there is no peer."""

    kind: str  # "zfs" or "images"
    header: StreamHeader  # for the peer; bytes_expected and source_snapshot are filled in
    snapshot: str = ""
    base_snapshot: str = ""  # "pool/ds@base" for an incremental
    images: tuple[str, ...] = ()
    resume_token: str = ""
    bandwidth_limit: int = 0  # bytes per second; 0: the agent's configured limit
    peer: str = ""  # "host:port"
    compression: str = "none"  # of a peer push: "none", "lz4", "zstd" or "auto"
    zfs_compressed: bool = False  # zfs send -c where this host's OpenZFS has it
