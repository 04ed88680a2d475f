"""FAKE agents in memory, for fast exhaustive fault matrices (tests/unit/test_fault_matrix.py)
beside the runs against real agents, zfs-fuse and dockerd (tests/rpc, tests/e2e), never
instead of them.

A MemoryAgent is the controller's AgentClient (controller/ports.py) for one host
(memory_host.FakeHost), bound to one migration id as the gRPC client is: datasets whose data
is the list of writes the stack made, with snapshots (name, GUID); compose stacks by compose
path, running or not; images; one-time receive tickets; the agent's claims (another
migration's mutating call is refused, naming the holder), its deploy journal (a restart
before the commit removes the deploy) and the migration mark on what it received (discard
destroys only that). A stream goes from the
sending agent straight to the peer at its address on the same FakeWorld, as SendStream goes
agent to agent, not through the controller. The rules a real zfs and a real agent keep are
kept, so a controller that breaks one fails here too: a full receive needs a free dataset
whose parent exists, an incremental needs the base GUID as the target's latest snapshot, a
ticket is good for one stream, a deploy needs its datasets and images on the host.

An outage (FakeHost.crash) is measured in the world's fake time: until it ends every call
fails Unavailable; the first call after it meets the restarted agent, which has reconciled
its journal. The world asserts at every change that the stack never runs on both hosts.

One driver at a time calls these agents (the matrix never runs two at once): no locks.
"""

from __future__ import annotations

import posixpath
import secrets
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

from fakes.memory_host import (
    AVAILABLE_BYTES,
    BASE_BYTES,
    IMAGE_BYTES,
    WRITE_BYTES,
    FakeDataset,
    FakeDeploy,
    FakeHost,
    FakeSnapshot,
    FakeStack,
    FakeTransferCall,
    progress,
    service_infos,
    snapshot_info,
    stream_bytes,
)
from stackferry.compose import ComposeFile, load_compose
from stackferry.compose.paths import is_within
from stackferry.controller.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unavailable,
)
from stackferry.controller.ports import AgentClient, TransferCall, TransferEvent
from stackferry.hostapi import (
    AGENT_API_VERSION,
    AgentInfo,
    Claim,
    ClaimGrant,
    DatasetInfo,
    DeployCheck,
    DeployChecks,
    DeployRequest,
    DeployResult,
    DiscardResult,
    FileManifest,
    FileTransfer,
    FileTree,
    ImageInfo,
    MountInfo,
    ReleaseResult,
    SendEstimate,
    SnapshotInfo,
    StackInfo,
    StackStatus,
    TransferResult,
    VolumeInfo,
    VolumeSpec,
    ZfsTransfer,
)

if TYPE_CHECKING:
    from fakes.memory_world import FakeWorld


class BindableAgent(AgentClient, Protocol):
    def bound(self, migration_id: str) -> BindableAgent:
        """The same agent as the client of migration `migration_id`."""
        ...


class MemoryAgent:
    """One fake host's agent, as the client of migration `migration_id` ("" for none)."""

    def __init__(self, world: FakeWorld, host: FakeHost, migration_id: str = "") -> None:
        self.world = world
        self.host = host
        self.migration_id = migration_id
        self.address = host.address
        self.hostname = host.hostname
        self.dataset_root = host.dataset_root
        self.datasets = host.datasets
        self.stacks = host.stacks
        self.images = host.images
        self._tickets = host.tickets

    def bound(self, migration_id: str) -> MemoryAgent:
        return MemoryAgent(self.world, self.host, migration_id)

    @property
    def down(self) -> bool:
        return self.world.clock.now() < self.host.down_until

    @down.setter
    def down(self, value: bool) -> None:
        if value:
            self.host.gone()
        else:
            self.host.down_until = 0.0

    def crash(self, seconds: float) -> None:
        """The agent dies now (its containers go on) and is back after `seconds` fake ones."""
        self.host.crash(self.world.clock.now(), seconds)

    # -- the host as a test sets it up and looks at it ------------------------------------

    def add_dataset(self, name: str, mountpoint: str, writes: tuple[str, ...] = ()) -> None:
        self.datasets[name] = FakeDataset(name, mountpoint, writes)

    def add_stack(self, compose_path: str, compose_text: str) -> None:
        """A running stack (its containers up)."""
        self.stacks[compose_path] = FakeStack(compose_path, compose_text, running=True)
        self.world.changed()

    @property
    def stack_running(self) -> bool:
        return any(s.running for s in self.stacks.values())

    def snapshots(self) -> set[str]:
        return {f"{d.name}@{s.name}" for d in self.datasets.values() for s in d.snapshots}

    # -- AgentClient ----------------------------------------------------------------------

    def info(self) -> AgentInfo:
        self._reach()
        return AgentInfo(
            version="0.0.0-fake",
            hostname=self.hostname,
            api_version=AGENT_API_VERSION,
            storage_backend="zfs",
            storage_features={"resume": False},
            zfs_version="fake",
            docker_version="fake",
            compose_variant="docker compose",
            compose_version="fake",
            allowed_dataset_roots=(self.dataset_root,),
            allowed_path_roots=("/",),
            compressions=self.host.compressions,
        )

    def create_snapshot(self, datasets: Sequence[str], name: str) -> list[SnapshotInfo]:
        self._reach()
        self._unclaimed(*(f"dataset {d}" for d in datasets))
        found = [self._dataset(d) for d in datasets]
        taken = [d.name for d in found if any(s.name == name for s in d.snapshots)]
        if taken:
            raise AlreadyExists(f"snapshot @{name} exists on {', '.join(taken)}")
        for d in found:
            d.snapshots.append(FakeSnapshot(name, secrets.token_hex(8), d.writes))
        for stack in self.stacks.values():
            if stack.running:  # the stack goes on writing after the snapshot
                self._write(stack, f"{self.hostname}: after @{name}")
        return [snapshot_info(d, d.snapshot(name)) for d in found]

    def list_snapshots(self, datasets: Sequence[str], name: str = "") -> list[SnapshotInfo]:
        self._reach()
        found = [self._dataset(d) for d in datasets]
        return [snapshot_info(d, s) for d in found for s in d.snapshots if name in ("", s.name)]

    def destroy_snapshot(self, datasets: Sequence[str], name: str) -> None:
        self._reach()
        self._unclaimed(*(f"dataset {d}" for d in datasets))
        for d in [self._dataset(d) for d in datasets]:
            d.snapshots.remove(d.snapshot(name))

    def get_datasets(self, names: Sequence[str]) -> list[DatasetInfo]:
        self._reach()
        return [self._dataset_info(self._allowed(n)) for n in names]

    def estimate_send(
        self, snapshot: str, base_snapshot: str = "", resume_token: str = ""
    ) -> SendEstimate:
        self._reach()
        if resume_token:
            raise FailedPrecondition("this zfs cannot resume a stream")
        snap, base = self._sent(snapshot, base_snapshot)
        return SendEstimate(stream_bytes(snap, base), "zfs send -nvP")

    def inspect_stack(
        self,
        compose_path: str,
        project_name: str = "",
        compose_files: Sequence[str] = (),
        env_files: Sequence[str] = (),
    ) -> StackInfo:
        self._reach()
        stack = self._stack(compose_path)
        compose = self._compose(stack.compose_text, compose_path, project_name)
        mounts = tuple(self._mount(b.service, b.source, b.target) for b in compose.binds)
        return StackInfo(
            project_name=compose.project_name,
            project_dir=compose.project_dir,
            compose_path=compose_path,
            compose_text=stack.compose_text,
            services=service_infos(compose, stack.running),
            images=tuple(ImageInfo(i, i in self.images) for i in compose.images),
            mounts=mounts,
            datasets=tuple(sorted({m.dataset for m in mounts if m.on_zfs})),
        )

    def stop_stack(
        self,
        project_name: str,
        compose_path: str,
        timeout: int = 0,
        compose_files: Sequence[str] = (),
        env_files: Sequence[str] = (),
    ) -> StackStatus:
        self._reach()
        self._unclaimed(f"project {project_name}")
        stack = self._stack(compose_path)
        if stack.running:
            self._write(stack, f"{self.hostname}: last write before the stop")
            stack.running = False
            self.world.changed()
        return StackStatus(project_name)

    def start_stack(
        self,
        project_name: str,
        compose_path: str,
        timeout: int = 60,
        compose_files: Sequence[str] = (),
        env_files: Sequence[str] = (),
        services: Sequence[str] = (),
    ) -> None:
        self._reach()
        self._unclaimed(f"project {project_name}")
        self._stack(compose_path).running = True
        self.world.changed()

    def check_deploy(self, request: DeployRequest) -> DeployChecks:
        self._reach()
        path, compose = self._deployed(request)
        held = self.stacks.get(path)
        conflict = held is not None and (
            self._compose(held.compose_text, path).project_name != compose.project_name
        )
        missing = tuple(i for i in compose.images if i not in self.images)
        checks = (
            DeployCheck("compose_cli", True, "docker compose fake"),
            DeployCheck("compose_file", True, "valid"),
            DeployCheck(
                "compose_dir",
                not conflict,
                f"{path} holds another project's file" if conflict else f"{path} can be written",
            ),
            DeployCheck(
                "images", not missing, f"missing: {', '.join(missing)}" if missing else "present"
            ),
            DeployCheck("ports", True, "all free"),
        )
        return DeployChecks(checks, missing)

    def deploy_stack(self, request: DeployRequest) -> DeployResult:
        self._reach()
        path, compose = self._deployed(request)
        self._unclaimed(f"project {compose.project_name}", f"path {request.compose_dir}")
        for dataset, mountpoint in request.mounts:
            self._dataset(dataset).mountpoint = mountpoint
        missing = [i for i in compose.images if i not in self.images]
        if missing:
            return DeployResult(False, (), path, f"compose up failed: no image {missing[0]}")
        stack = self.stacks.setdefault(path, FakeStack(path, request.compose_text, False))
        self.host.journal[path] = FakeDeploy(request.migration_id or self.migration_id)
        # create_only (`up --no-start`): the containers exist, none runs
        stack.compose_text = request.compose_text
        if not request.create_only:
            stack.running = True
            self.world.changed()
        return DeployResult(True, service_infos(compose, running=stack.running), path)

    def push_zfs(self, transfer: ZfsTransfer, peer: AgentClient, ticket: str = "") -> TransferCall:
        self._reach()
        resume = bool(transfer.resume_token)
        self.host.zfs_pushes.append((transfer.snapshot, transfer.compression, bool(ticket)))
        ticket = ticket or peer.prepare_zfs_receive(
            transfer.target_dataset, transfer.base_guid, resume
        )
        return FakeTransferCall(self._send_zfs(transfer, peer.address, ticket))

    def push_images(
        self,
        images: Sequence[str],
        peer: AgentClient,
        bandwidth_limit: int = 0,
        compression: str = "none",
    ) -> TransferCall:
        self._reach()
        ticket = peer.prepare_image_receive(images)
        return FakeTransferCall(self._send_images(tuple(images), peer.address, ticket))

    def prepare_zfs_receive(
        self, target_dataset: str, base_guid: str = "", resume: bool = False, ttl: int = 0
    ) -> str:
        self._reach()
        if resume:
            raise FailedPrecondition("this zfs cannot resume a stream")
        self._unclaimed(f"dataset {target_dataset}")
        return self._ticket("zfs", self._allowed(target_dataset), base_guid)

    def prepare_image_receive(self, images: Sequence[str]) -> str:
        self._reach()
        return self._ticket("images", *images)

    def claim(self, claim: Claim) -> ClaimGrant:
        self._reach()
        return self.host.claim(self.migration_id, claim, self.world.clock.now())

    def release(self, committed: bool) -> ReleaseResult:
        self._reach()
        return self.host.release(self.migration_id, committed)

    def discard(self) -> DiscardResult:
        self._reach()
        was_running = self.stack_running
        result = self.host.discard(self.migration_id)
        if was_running != self.stack_running:
            self.world.changed()
        return result

    # The file mover is not faked: the matrix's stack keeps its data on datasets only.

    def inspect_volume(self, name: str) -> VolumeInfo:
        self._reach()
        return VolumeInfo(name, exists=False)

    def create_volume(self, spec: VolumeSpec, allow_overwrite: bool = False) -> VolumeInfo:
        raise FailedPrecondition("the fake agent has no volumes")

    def prepare_file_receive(
        self,
        target: FileTree,
        allow_overwrite: bool = False,
        checksum: bool = False,
        ttl: int = 0,
    ) -> str:
        raise FailedPrecondition("the fake agent has no file mover")

    def push_files(
        self, transfer: FileTransfer, peer: AgentClient, ticket: str = ""
    ) -> TransferCall:
        raise FailedPrecondition("the fake agent has no file mover")

    def file_manifest(self, tree: FileTree) -> FileManifest:
        raise FailedPrecondition("the fake agent has no file mover")

    # -- the two ends of a stream ---------------------------------------------------------

    def _send_zfs(self, transfer: ZfsTransfer, peer: str, ticket: str) -> Iterator[TransferEvent]:
        snap, base = self._sent(transfer.snapshot, transfer.base_snapshot)
        receiver = self.world.host(peer)
        mark = receiver._redeem(ticket, "zfs", transfer.target_dataset, transfer.base_guid)
        size = stream_bytes(snap, base)
        yield from progress(size)
        receiver._receive(transfer.target_dataset, snap, transfer.base_guid, mark)
        yield TransferResult(
            size, f"fake:{snap.guid}", f"{transfer.target_dataset}@{snap.name}", snap.guid
        )

    def _send_images(
        self, images: tuple[str, ...], peer: str, ticket: str
    ) -> Iterator[TransferEvent]:
        missing = [i for i in images if i not in self.images]
        if missing:
            raise NotFound(f"images not present on this host: {', '.join(missing)}")
        receiver = self.world.host(peer)
        receiver._redeem(ticket, "images", *images)
        size = IMAGE_BYTES * len(images)
        yield from progress(size)
        receiver.images.update(images)
        yield TransferResult(size, "fake:images")

    def _ticket(self, *grants: str) -> str:
        ticket = secrets.token_hex(8)
        self._tickets[ticket] = (grants, self.migration_id)
        return ticket

    def _redeem(self, ticket: str, *grants: str) -> str:
        """The migration the ticket was made for."""
        self._reach()
        held, migration_id = self._tickets.pop(ticket, ((), ""))
        if held != grants:
            raise FailedPrecondition("unknown, used or mismatched receive ticket")
        return migration_id

    def _receive(self, name: str, snap: FakeSnapshot, base_guid: str, mark: str) -> None:
        """`zfs receive` of a full stream (no base) or an incremental one from base_guid; a
        dataset a full stream makes carries the migration's mark."""
        copy = FakeSnapshot(snap.name, snap.guid, snap.writes)
        if not base_guid:
            if name in self.datasets:
                raise AlreadyExists(f"destination {name} exists")
            self._dataset(posixpath.dirname(name))
            self.datasets[name] = FakeDataset(name, "", snap.writes, [copy], mark)
            return
        dataset = self._dataset(name)
        if not dataset.snapshots or dataset.snapshots[-1].guid != base_guid:
            raise FailedPrecondition(f"most recent snapshot of {name} is not the stream's base")
        dataset.writes = snap.writes
        dataset.snapshots.append(copy)

    # -- helpers --------------------------------------------------------------------------

    def _reach(self) -> None:
        if self.down:
            raise Unavailable(f"agent {self.address}: connection refused", self.address)
        if self.host.restart_pending:
            was_running = self.stack_running
            self.host.reconcile()
            if was_running != self.stack_running:
                self.world.changed()

    def _unclaimed(self, *keys: str) -> None:
        self.host.unclaimed(self.migration_id, keys, self.world.clock.now())

    def _allowed(self, name: str) -> str:
        if not (name == self.dataset_root or name.startswith(self.dataset_root + "/")):
            raise InvalidArgument(f"dataset {name} is outside the allowed root {self.dataset_root}")
        return name

    def _dataset(self, name: str) -> FakeDataset:
        found = self.datasets.get(self._allowed(name))
        if found is None:
            raise NotFound(f"dataset {name} does not exist")
        return found

    def _dataset_info(self, name: str) -> DatasetInfo:
        d = self.datasets.get(name)
        if d is None:
            return DatasetInfo(name, exists=False)
        size = BASE_BYTES + WRITE_BYTES * len(d.writes)
        return DatasetInfo(
            name, True, d.mountpoint, bool(d.mountpoint), size, AVAILABLE_BYTES, size
        )

    def _sent(self, snapshot: str, base_snapshot: str) -> tuple[FakeSnapshot, FakeSnapshot | None]:
        dataset, _, name = snapshot.partition("@")
        snap = self._dataset(dataset).snapshot(name)
        if not base_snapshot:
            return snap, None
        return snap, self._dataset(dataset).snapshot(base_snapshot.partition("@")[2])

    def _stack(self, compose_path: str) -> FakeStack:
        stack = self.stacks.get(compose_path)
        if stack is None:
            raise NotFound(f"no compose file at {compose_path}")
        return stack

    def _compose(self, text: str, compose_path: str, project_name: str = "") -> ComposeFile:
        return load_compose(text, "", posixpath.dirname(compose_path), project_name)

    def _deployed(self, request: DeployRequest) -> tuple[str, ComposeFile]:
        path = posixpath.join(request.compose_dir, request.compose_filename)
        return path, self._compose(request.compose_text, path, request.project_name)

    def _mount(self, service: str, source: str, target: str) -> MountInfo:
        holders = [
            d for d in self.datasets.values() if d.mountpoint and is_within(source, d.mountpoint)
        ]
        if not holders:
            return MountInfo(service, source, target)
        d = max(holders, key=lambda d: len(d.mountpoint))
        return MountInfo(service, source, target, True, d.name, d.mountpoint)

    def _write(self, stack: FakeStack, line: str) -> None:
        compose = self._compose(stack.compose_text, stack.compose_path)
        held = {self._mount(b.service, b.source, b.target).dataset for b in compose.binds}
        for name in sorted(held - {""}):
            self.datasets[name].writes += (line,)
