"""The agent's service: one operation per RPC of the Agent API. No grpc here: the servicers of
agent/rpc/ convert requests into these calls and their results into replies.

Names and paths that arrive from the network are checked against the allowed roots here,
before the storage backend or the container runtime sees them; a receive needs the
one-time ticket this agent issued for it.
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass, field

import structlog

from stackferry.agent import __version__
from stackferry.agent.claims import ClaimBook, Wanted
from stackferry.agent.cleanup import Cleanup
from stackferry.agent.compression import ChunkDecoder, ChunkEncoder, check_compression
from stackferry.agent.config import AgentConfig
from stackferry.agent.errors import AgentError, Cancelled, InvalidArgument
from stackferry.agent.fencing import Fencing, checked_migration_id
from stackferry.agent.files.ports import FilePeerDialer
from stackferry.agent.files.service import FileService, rsync_version
from stackferry.agent.files.trees import Trees
from stackferry.agent.files.volumes import Volumes
from stackferry.agent.journal import Journal
from stackferry.agent.ports import Caller, PeerDialer
from stackferry.agent.roots import Roots, validate_snapshot_name
from stackferry.agent.runtime.base import ContainerRuntime
from stackferry.agent.stacks import StackService
from stackferry.agent.storage.base import StorageBackend
from stackferry.agent.streams import ByteSink, ByteSource, SendRequest, StreamHeader, StreamTrailer
from stackferry.agent.tickets import Ticket, TicketBook, TransferSpec
from stackferry.agent.transfer import Frame, Meter, SinkPump, SourcePump
from stackferry.common import metrics
from stackferry.hostapi import (
    AGENT_API_VERSION,
    COMPRESSIONS,
    AgentInfo,
    Claim,
    ClaimGrant,
    DatasetInfo,
    DeployChecks,
    DeployRequest,
    DeployResult,
    DiscardResult,
    ReleaseResult,
    SendEstimate,
    SnapshotInfo,
    StackInfo,
    StackStatus,
    TransferProgress,
    TransferResult,
)

log = structlog.get_logger(__name__)

SNAPSHOT_ACTIONS = ("create", "list", "destroy", "hold", "release")
PROGRESS_INTERVAL = 1.0  # seconds between progress events of a push

# What a send yields: progress then the result with a peer, else raw (framed) chunks then
# the result.
SendEvent = bytes | TransferProgress | TransferResult


@dataclass
class AgentService:
    """One per agent process (agent/wiring.py assembles it). The stack operations go to a
    StackService built from the same roots, storage and runtime; dataclasses.replace
    rebuilds it with the parts replaced (bench/null_sink_agent.py swaps the storage)."""

    config: AgentConfig
    roots: Roots
    storage: StorageBackend
    runtime: ContainerRuntime
    tickets: TicketBook
    peers: PeerDialer
    claims: ClaimBook
    journal: Journal
    file_peers: FilePeerDialer
    hostname: str = field(default_factory=socket.gethostname)
    version: str = __version__
    stacks: StackService = field(init=False)
    cleanup: Cleanup = field(init=False)
    fencing: Fencing = field(init=False)
    files: FileService = field(init=False)

    def __post_init__(self) -> None:
        self.stacks = StackService(self.roots, self.storage, self.runtime)
        self.cleanup = Cleanup(
            self.journal, self.claims, self.storage, self.runtime, self.config.docker_host
        )
        self.fencing = Fencing(self.roots, self.claims, self.journal, self.cleanup, self.runtime)
        trees = Trees(self.roots, Volumes(self.config.docker_host), self.journal)
        self.files = FileService(
            trees,
            self.tickets,
            self.file_peers,
            self.fencing.check,
            self.config.bandwidth_limit_bytes_per_second,
        )

    # -- this host ---------------------------------------------------------------------

    def info(self) -> AgentInfo:
        return AgentInfo(
            version=self.version,
            hostname=self.hostname,
            api_version=AGENT_API_VERSION,
            storage_backend=self.storage.name,
            storage_features=self.storage.features(),
            zfs_version=self.storage.version() if self.storage.name == "zfs" else "",
            allowed_dataset_roots=self.roots.datasets,
            allowed_path_roots=self.roots.paths,
            rsync_version=rsync_version(),
            compressions=COMPRESSIONS,
            **self._runtime_info(),
        )

    def _runtime_info(self) -> dict[str, str]:
        # The storage half of the info is still worth answering when Docker misbehaves.
        try:
            info = self.runtime.info()
        except Exception as exc:  # any runtime failure: report no engine, keep serving
            log.warning("runtime info failed", error=str(exc))
            return {}
        keys = ("docker_version", "compose_variant", "compose_version")
        return {k: str(info.get(k, "")) for k in keys}

    # -- snapshots and datasets --------------------------------------------------------

    def _datasets(self, datasets: Sequence[str]) -> list[str]:
        if not datasets:
            raise InvalidArgument("name at least one dataset")
        return [self.roots.check_dataset(ds) for ds in dict.fromkeys(datasets)]

    def snapshot(
        self,
        action: str,
        datasets: Sequence[str],
        name: str,
        recursive: bool,
        hold_tag: str = "",
        migration_id: str = "",
    ) -> list[SnapshotInfo]:
        """Runs one snapshot action; returns the snapshots it made, listed or (un)held.
        Create and destroy on datasets another migration claimed are refused."""
        if action not in SNAPSHOT_ACTIONS:
            raise InvalidArgument(f"snapshot action must be one of {', '.join(SNAPSHOT_ACTIONS)}")
        checked = self._datasets(datasets)
        if action in ("create", "destroy"):
            self.fencing.check_datasets(migration_id, tuple(checked))
        if action == "list":
            return self.storage.list_snapshots(
                checked, validate_snapshot_name(name) if name else None, recursive
            )
        if not name:
            raise InvalidArgument(f"snapshot {action} needs a snapshot name")
        validate_snapshot_name(name)
        if action == "create":
            return self.storage.create_snapshot(checked, name, recursive)
        if action == "destroy":
            self.storage.destroy_snapshot(checked, name, recursive)
            return []
        if not hold_tag:
            raise InvalidArgument(f"snapshot {action} needs a hold tag")
        if action == "hold":
            self.storage.hold(checked, name, hold_tag, recursive)
        else:
            self.storage.release(checked, name, hold_tag, recursive)
        return self.storage.list_snapshots(checked, name, recursive)

    def get_datasets(self, datasets: Sequence[str], recursive: bool) -> list[DatasetInfo]:
        """Facts about datasets; one that does not exist is reported with exists=False."""
        return self.storage.get_datasets(self._datasets(datasets), recursive)

    def estimate_send(self, snapshot: str, base: str, resume_token: str = "") -> SendEstimate:
        """base may be "pool/ds@s1" or "@s1" (a snapshot of the same dataset). With a resume
        token: what is left to send of that partial receive of snapshot."""
        dataset, _ = self.roots.check_snapshot(snapshot)
        if resume_token:
            return self.storage.estimate_send(snapshot, None, resume_token)
        if base:
            full_base = dataset + base if base.startswith("@") else base
            base_dataset, _ = self.roots.check_snapshot(full_base)
            if base_dataset != dataset:
                raise InvalidArgument(f"base {base!r} is not a snapshot of {dataset!r}")
            return self.storage.estimate_send(snapshot, full_base)
        return self.storage.estimate_send(snapshot, None)

    # -- transfers ---------------------------------------------------------------------

    def _check_receive(self, spec: TransferSpec) -> None:
        if spec.kind == "zfs":
            self.roots.check_dataset(spec.target)
            self.fencing.check(spec.migration_id, Wanted(datasets=(spec.target,)))
            self.storage.check_receive(
                spec.target, spec.base_guid or None, spec.allow_overwrite, spec.resume
            )
        elif spec.kind != "images":
            raise InvalidArgument(f"unknown stream kind {spec.kind!r}")

    def prepare_receive(self, spec: TransferSpec, ttl: int) -> Ticket:
        """Checks that the receive could succeed now, then issues its ticket."""
        self._check_receive(spec)
        return self.tickets.issue(spec, ttl)

    def send(
        self, request: SendRequest, caller: Caller, frame: Frame | None = None
    ) -> Generator[SendEvent, None, None]:
        """Pushes the stream into the peer, yielding progress about every PROGRESS_INTERVAL,
        then the peer's result; without a peer, yields the chunks (each with ``frame``'s
        prefix) then the result. Ends when the caller goes away."""
        with metrics.active_stream("send"):
            yield from self._send(request, caller, frame)

    def _send(
        self, request: SendRequest, caller: Caller, frame: Frame | None
    ) -> Generator[SendEvent, None, None]:
        if request.bandwidth_limit < 0:
            raise InvalidArgument("bandwidth_limit_bytes_per_second must not be negative")
        compression = check_compression(request.compression) if request.peer else "none"
        peer = self.peers.dial(request.peer) if request.peer else None
        try:  # opening the source validates the names before any estimate runs
            source = self._open_source(request)
        except BaseException:
            if peer is not None:
                peer.close()
            raise
        expected = self._expected_bytes(request)
        limit = request.bandwidth_limit or self.config.bandwidth_limit_bytes_per_second
        meter = Meter(expected, limit)
        encoder = ChunkEncoder(compression) if compression != "none" else None
        pump = SourcePump(source, meter, frame=frame, encoder=encoder)
        caller.add_callback(pump.close)
        sent_bytes = metrics.BYTES_SENT.labels(request.kind)
        if peer is None:
            yield from pump.chunks()
            summary = pump.summary()
            sent_bytes.inc(summary.bytes)
            yield summary
            return
        header = dataclasses.replace(
            request.header,
            bytes_expected=expected,
            source_snapshot=request.snapshot,
            compression=compression,
        )
        pushing = peer.push(header, pump)
        caller.add_callback(pushing.cancel)
        counted = 0
        while not pushing.wait(PROGRESS_INTERVAL):
            progress = meter.progress()
            sent_bytes.inc(progress.bytes_done - counted)
            counted = progress.bytes_done
            yield progress
        if not caller.is_active():
            raise Cancelled("the caller cancelled the transfer")
        received = pushing.result()
        sent = pump.summary()
        if (received.bytes, received.checksum) != (sent.bytes, sent.checksum):
            raise AgentError(
                f"peer {request.peer} reports {received.bytes} bytes / {received.checksum}, "
                f"sent {sent.bytes} bytes / {sent.checksum}"
            )
        progress = meter.progress()
        sent_bytes.inc(progress.bytes_done - counted)
        yield progress
        yield dataclasses.replace(
            received,
            seconds=sent.seconds,
            wire_bytes=sent.wire_bytes,
            compression=sent.compression,
        )

    def _open_source(self, request: SendRequest) -> ByteSource:
        if request.kind == "images":
            if not request.images:
                raise InvalidArgument("an image stream needs at least one image")
            return self.runtime.open_image_save(list(request.images))
        if request.kind != "zfs":
            raise InvalidArgument(f"unknown stream kind {request.kind!r}")
        self.roots.check_snapshot(request.snapshot)
        if request.base_snapshot:
            self.roots.check_snapshot(request.base_snapshot)
        return self.storage.open_send(
            request.snapshot,
            request.base_snapshot or None,
            request.resume_token or None,
            request.zfs_compressed,
        )

    def _expected_bytes(self, request: SendRequest) -> int:
        """The size estimate for progress and ETA (of what is left, when resuming); 0
        (unknown) when there is none."""
        if request.kind != "zfs":
            return 0
        try:
            return self.storage.estimate_send(
                request.snapshot, request.base_snapshot or None, request.resume_token or None
            ).bytes
        except AgentError:
            return 0

    def receive(
        self,
        header: StreamHeader,
        stream: Iterable[memoryview | bytes | StreamTrailer],
        caller: Caller,
    ) -> TransferResult:
        """Redeems the header's ticket, then writes the chunks that follow it; commits only
        when the trailer's count and checksum match. Anything else leaves nothing behind."""
        compression = check_compression(header.compression)  # before the ticket is spent
        decoder = ChunkDecoder() if compression != "none" else None
        pump = SinkPump(self._open_sink(header), Meter(header.bytes_expected), decoder=decoder)
        caller.add_callback(pump.abort)  # any end but a commit: nothing partial is left
        about = {"kind": header.spec.kind, "target": header.spec.target}
        log.info("receive started", **about)  # with "receive committed": when each ran
        try:
            with metrics.active_stream("receive"):
                result = self._receive(stream, pump, caller)
            metrics.BYTES_RECEIVED.labels(header.spec.kind).inc(result.bytes)
        except BaseException:
            pump.abort()
            raise
        log.info("receive committed", bytes=result.bytes, seconds=result.seconds, **about)
        return result

    def _open_sink(self, header: StreamHeader) -> ByteSink:
        """Checks the target's name and roots, redeems the ticket (PermissionDenied), starts
        the receiver. The name comes first: a hostile one is refused as what it is
        (InvalidArgument), with or without a ticket, and spends no ticket."""
        if header.spec.kind != "images":  # every other kind writes into a dataset
            self.roots.check_dataset(header.spec.target)
        spec = self.tickets.redeem(header.ticket, header.spec)
        if spec.kind == "images":
            return self.runtime.open_image_load(spec.images)
        self.fencing.check(spec.migration_id, Wanted(datasets=(spec.target,)))
        return self.storage.open_receive(
            spec.target,
            spec.base_guid or None,
            spec.allow_overwrite,
            header.resumable,
            spec.resume,
            checked_migration_id(spec.migration_id),
        )

    @staticmethod
    def _receive(
        stream: Iterable[memoryview | bytes | StreamTrailer], pump: SinkPump, caller: Caller
    ) -> TransferResult:
        for item in stream:
            if not isinstance(item, StreamTrailer):
                pump.feed(item)
                continue
            if item.error:
                raise AgentError(f"the sender failed, nothing was received: {item.error}")
            return pump.commit(item.bytes, item.checksum)
        if not caller.is_active():
            raise Cancelled("the sender cancelled the stream: nothing was received")
        raise InvalidArgument("the stream ended without a trailer: nothing was received")

    # -- compose stacks ----------------------------------------------------------------

    def inspect_stack(
        self,
        compose_path: str,
        project_name: str = "",
        compose_files: tuple[str, ...] = (),
        env_files: tuple[str, ...] = (),
    ) -> StackInfo:
        return self.stacks.inspect(compose_path, project_name, compose_files, env_files)

    def stop_stack(
        self,
        compose_path: str,
        project_name: str,
        timeout: int,
        migration_id: str = "",
        compose_files: tuple[str, ...] = (),
        env_files: tuple[str, ...] = (),
    ) -> StackStatus:
        _require_compose_path(compose_path)
        self.fencing.check_stack(migration_id, compose_path, project_name)
        with self.fencing.stack_lock(compose_path, project_name):
            return self.stacks.stop(compose_path, project_name, timeout, compose_files, env_files)

    def start_stack(
        self,
        compose_path: str,
        project_name: str,
        timeout: int,
        migration_id: str = "",
        compose_files: tuple[str, ...] = (),
        env_files: tuple[str, ...] = (),
        services: tuple[str, ...] = (),
    ) -> StackStatus:
        _require_compose_path(compose_path)
        self.fencing.check_stack(migration_id, compose_path, project_name)
        with self.fencing.stack_lock(compose_path, project_name):
            return self.stacks.start(
                compose_path, project_name, timeout, compose_files, env_files, services
            )

    def check_deploy(self, request: DeployRequest) -> DeployChecks:
        return self.stacks.check_deploy(request, self.fencing.own_paths(request))

    def deploy_stack(self, request: DeployRequest) -> DeployResult:
        return self.fencing.deploy(request, self.stacks.deploy)

    # -- migrations: claims, release, discard --------------------------------------------

    def claim(self, migration_id: str, claim: Claim) -> ClaimGrant:
        return self.fencing.claim(migration_id, claim)

    def release(self, migration_id: str, committed: bool) -> ReleaseResult:
        return self.cleanup.release(migration_id, committed)

    def discard(self, migration_id: str) -> DiscardResult:
        return self.cleanup.discard(migration_id)


def _require_compose_path(compose_path: str) -> None:
    if not compose_path:
        raise InvalidArgument("compose_path is required (compose stop/start reads the file)")
