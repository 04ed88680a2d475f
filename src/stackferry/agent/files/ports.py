"""What the file mover needs from the RPC layer: a stream to the receiving agent. The gRPC
implementation is agent/rpc/file_peer.py; no grpc here."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Protocol

from stackferry.hostapi import FileTree


@dataclass(frozen=True)
class FileHeader:
    """The first message of a pass into the receiving agent."""

    ticket: str
    target: FileTree
    allow_overwrite: bool = False
    checksum: bool = False  # rsync --checksum, on both ends


@dataclass(frozen=True)
class FileEnd:
    """The last message of a pass: the receiver's rsync exited 0 (exit_code 0, no error), or
    the sender failed (error set) and the receiver must not report success."""

    exit_code: int = 0
    error: str = ""


class FileSyncCall(Protocol):
    """One pass's stream to the receiving agent."""

    def send(self, chunk: memoryview | bytes) -> None:
        """Queues (a copy of) rsync protocol bytes for the receiver; blocks while the queue
        is full."""
        ...

    def close(self, end: FileEnd | None = None) -> None:
        """Ends what this side sends, after ``end`` if given."""
        ...

    def responses(self) -> Generator[memoryview | bytes | FileEnd, None, None]:
        """The receiver's protocol bytes, then its FileEnd; raises the receiver's error as
        the domain error of the same kind."""
        ...

    def cancel(self) -> None:
        """Stops both ends: the receiver kills its rsync and removes what it left aside."""
        ...


class FilePeerDialer(Protocol):
    def open_sync(self, address: str, header: FileHeader) -> FileSyncCall:
        """Dials the agent at ``address`` (Unavailable when it cannot be reached)."""
        ...
