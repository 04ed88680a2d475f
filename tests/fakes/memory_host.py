"""What a FAKE host of tests/fakes/memory_agent.py holds, and the stream between two of
them: datasets whose data is the list of writes the stack made, their snapshots, compose
stacks, the agent's claims and deploy journal, and the sizes the fake reports for them; and
the fake time the engine's retries and the fakes' outages are measured in."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from stackferry.compose import ComposeFile
from stackferry.controller.engine.retry import Wakeup
from stackferry.controller.errors import AlreadyExists, ControllerError, NotFound
from stackferry.controller.ports import TransferEvent
from stackferry.hostapi import (
    Claim,
    ClaimGrant,
    ContainerInfo,
    DiscardResult,
    ReleaseResult,
    ServiceInfo,
    SnapshotInfo,
    TransferProgress,
)

BASE_BYTES = 1 << 20  # what a dataset holds besides the stack's writes
WRITE_BYTES = 64 << 10  # one write of the stack
IMAGE_BYTES = 4 << 20
AVAILABLE_BYTES = 1 << 30
CLAIM_TTL_SECONDS = 900.0  # the agent's default


@dataclass(frozen=True)
class FakeSnapshot:
    name: str
    guid: str
    writes: tuple[str, ...]

    @property
    def size(self) -> int:
        return BASE_BYTES + WRITE_BYTES * len(self.writes)


class FakeClock:
    """The engine's Clock (controller/engine/retry.py) in fake time: a pause passes at once
    and moves the time on, so "an agent gone for 70 s" takes no real time."""

    def __init__(self) -> None:
        self.time = 0.0

    def now(self) -> float:
        return self.time

    def pause(self, seconds: float, wakeup: Wakeup) -> bool:
        self.time += seconds
        return wakeup.is_set()


@dataclass
class FakeDataset:
    name: str
    mountpoint: str = ""  # "" while not mounted (a received dataset until the deploy)
    writes: tuple[str, ...] = ()  # the data: what the stack wrote, oldest first
    snapshots: list[FakeSnapshot] = field(default_factory=list)
    mark: str = ""  # the migration that received it (zfs user property stackferry:migration)

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


@dataclass
class FakeClaim:
    migration_id: str
    expires: float  # fake time


@dataclass
class FakeDeploy:
    """The agent's journal entry of a deploy: written before compose up; a restart before the
    commit removes the deploy (`removed`)."""

    migration_id: str
    committed: bool = False
    removed: bool = False


@dataclass
class FakeHost:
    """Everything one fake host holds; the agents bound to different migrations share it."""

    address: str
    hostname: str
    dataset_root: str
    datasets: dict[str, FakeDataset] = field(default_factory=dict)
    stacks: dict[str, FakeStack] = field(default_factory=dict)
    images: set[str] = field(default_factory=set)
    tickets: dict[str, tuple[tuple[str, ...], str]] = field(default_factory=dict)
    claims: dict[str, FakeClaim] = field(default_factory=dict)  # by "dataset NAME" etc.
    journal: dict[str, FakeDeploy] = field(default_factory=dict)  # by compose path
    down_until: float = 0.0  # fake time; math.inf: gone for good
    restart_pending: bool = False  # the agent reconciles its journal when it is back
    compressions: tuple[str, ...] = ()  # AgentInfo.compressions (an older agent has none)
    # every push_zfs, in order: (snapshot, compression asked, whether a ticket came with it)
    zfs_pushes: list[tuple[str, str, bool]] = field(default_factory=list)

    # -- the agent's claims, journal and discard (hostapi.Claim, ReleaseResult, DiscardResult)

    def claim(self, migration_id: str, claim: Claim, now: float) -> ClaimGrant:
        keys = [f"project {claim.project_name}"]
        keys += [f"dataset {d}" for d in claim.datasets]
        keys += [f"path {p}" for p in claim.paths]
        self.unclaimed(migration_id, keys, now)
        expires = now + (claim.ttl_seconds or CLAIM_TTL_SECONDS)
        for key in keys:
            self.claims[key] = FakeClaim(migration_id, expires)
        return ClaimGrant(migration_id, int(expires))

    def unclaimed(self, migration_id: str, keys: Iterable[str], now: float) -> None:
        """AlreadyExists, naming the holder, when another migration holds any of `keys`."""
        for key in keys:
            held = self.claims.get(key)
            if held and held.migration_id != migration_id and held.expires > now:
                raise AlreadyExists(
                    f"agent {self.address}: {key} is claimed by migration {held.migration_id}"
                )

    def release(self, migration_id: str, committed: bool) -> ReleaseResult:
        for key in [k for k, c in self.claims.items() if c.migration_id == migration_id]:
            del self.claims[key]
        mine = [e for e in self.journal.values() if e.migration_id == migration_id]
        if committed:
            for entry in mine:
                entry.committed = True
        return ReleaseResult(deploy_live=any(not e.removed for e in mine))

    def discard(self, migration_id: str) -> DiscardResult:
        """The migration's journaled deploys go (containers and compose file), then the
        datasets carrying its mark, children first; as on the real agent (agent/cleanup.py),
        a migration that committed its deploy here keeps all of it."""
        mine = {path: e for path, e in self.journal.items() if e.migration_id == migration_id}
        if any(e.committed for e in mine.values()):
            reason = f"migration {migration_id} committed its deploy here"
            kept = [f"deploy {path}: {reason}" for path in mine]
            kept += [
                f"dataset {d.name}: {reason}"
                for d in self.datasets.values()
                if d.mark and d.mark == migration_id
            ]
            return DiscardResult((), tuple(kept))
        removed: list[str] = []
        for path, entry in list(self.journal.items()):
            if entry.migration_id == migration_id:
                self.stacks.pop(path, None)
                del self.journal[path]
                removed.append(f"deploy {path}")
        marked = [d for d in self.datasets.values() if d.mark and d.mark == migration_id]
        for d in sorted(marked, key=lambda d: len(d.name), reverse=True):
            del self.datasets[d.name]
            removed.append(f"dataset {d.name}")
        return DiscardResult(tuple(removed), ())

    def reconcile(self) -> None:
        """The restarted agent stops and removes every deploy it never reported committed."""
        self.restart_pending = False
        for path, entry in self.journal.items():
            stack = self.stacks.get(path)
            if not (entry.committed or entry.removed) and stack is not None:
                entry.removed = True
                stack.running = False

    def crash(self, now: float, seconds: float) -> None:
        """The agent process dies (its containers go on running) and is back `seconds` later."""
        self.down_until = max(self.down_until, now + seconds)
        self.restart_pending = True

    def gone(self) -> None:
        self.down_until = math.inf


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
