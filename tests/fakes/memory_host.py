"""What a FAKE host of tests/fakes/memory_agent.py holds, and the stream between two of
them: datasets whose data is the list of writes the stack made, their snapshots, compose
stacks, and the sizes the fake reports for them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from stackferry.compose import ComposeFile
from stackferry.controller.errors import ControllerError, NotFound
from stackferry.controller.ports import TransferEvent
from stackferry.hostapi import ContainerInfo, ServiceInfo, SnapshotInfo, TransferProgress

BASE_BYTES = 1 << 20  # what a dataset holds besides the stack's writes
WRITE_BYTES = 64 << 10  # one write of the stack
IMAGE_BYTES = 4 << 20
AVAILABLE_BYTES = 1 << 30


@dataclass(frozen=True)
class FakeSnapshot:
    name: str
    guid: str
    writes: tuple[str, ...]

    @property
    def size(self) -> int:
        return BASE_BYTES + WRITE_BYTES * len(self.writes)


@dataclass
class FakeDataset:
    name: str
    mountpoint: str = ""  # "" while not mounted (a received dataset until the deploy)
    writes: tuple[str, ...] = ()  # the data: what the stack wrote, oldest first
    snapshots: list[FakeSnapshot] = field(default_factory=list)

    def snapshot(self, name: str) -> FakeSnapshot:
        for s in self.snapshots:
            if s.name == name:
                return s
        raise NotFound(f"snapshot {self.name}@{name} does not exist")


@dataclass
class FakeStack:
    compose_path: str
    compose_text: str
    running: bool


class FakeTransferCall:
    """A stream's events as the sender makes them; after `cancel()` the next one fails, as a
    cancelled gRPC stream does, and what was not received yet never is."""

    def __init__(self, events: Iterator[TransferEvent]) -> None:
        self._events = events
        self._cancelled = False

    def __iter__(self) -> Iterator[TransferEvent]:
        for event in self._events:
            if self._cancelled:
                raise ControllerError("stream cancelled")
            yield event

    def cancel(self) -> None:
        self._cancelled = True


def progress(size: int) -> Iterator[TransferProgress]:
    chunk = max(1, size // 4)
    done = 0
    while done < size:
        done = min(size, done + chunk)
        yield TransferProgress(done, size)


def snapshot_info(d: FakeDataset, s: FakeSnapshot) -> SnapshotInfo:
    return SnapshotInfo(d.name, s.name, s.guid, referenced_bytes=s.size)


def stream_bytes(snap: FakeSnapshot, base: FakeSnapshot | None) -> int:
    if base is None:
        return snap.size
    return WRITE_BYTES * max(1, len(snap.writes) - len(base.writes))


def service_infos(compose: ComposeFile, running: bool) -> tuple[ServiceInfo, ...]:
    return tuple(
        ServiceInfo(
            s.name,
            s.image,
            (
                ContainerInfo(
                    f"{compose.project_name}-{s.name}-1",
                    service=s.name,
                    state="running" if running else "exited",
                ),
            ),
            tuple(map(str, s.ports)),
        )
        for s in compose.services
    )
