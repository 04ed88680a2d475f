"""What the controller needs of the hosts, as Protocols: the engine, the service and the planner
are typed against these; controller/agents.py implements them over gRPC, and a test may hand
in any other implementation (tests/fakes)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from stackferry.hostapi import (
    AgentInfo,
    AgentPing,
    Claim,
    ClaimGrant,
    DatasetInfo,
    DeployChecks,
    DeployRequest,
    DeployResult,
    DiscardResult,
    FileManifest,
    FileTransfer,
    FileTree,
    ReleaseResult,
    SendEstimate,
    SnapshotInfo,
    StackInfo,
    StackStatus,
    TransferProgress,
    TransferResult,
    VolumeInfo,
    VolumeSpec,
    ZfsTransfer,
)

TransferEvent = TransferProgress | TransferResult


class TransferCall(Protocol):
    """A running agent-to-agent stream: iterate its events (the last is a TransferResult);
    `cancel()` from any thread aborts it on both agents."""

    def __iter__(self) -> Iterator[TransferEvent]: ...

    def cancel(self) -> None: ...


class AgentClient(Protocol):
    """One agent, bound to one migration (Dialer.dial's migration_id): every request that has
    a migration_id field carries it. Its errors are controller errors (controller/errors.py):
    Unavailable when it cannot be reached, NotFound for a dataset or snapshot it does not have,
    AlreadyExists when another migration holds a claim on what the call would change."""

    address: str

    def info(self) -> AgentInfo: ...

    def create_snapshot(self, datasets: Sequence[str], name: str) -> list[SnapshotInfo]: ...

    def list_snapshots(self, datasets: Sequence[str], name: str = "") -> list[SnapshotInfo]: ...

    def destroy_snapshot(self, datasets: Sequence[str], name: str) -> None: ...

    def get_datasets(self, names: Sequence[str]) -> list[DatasetInfo]: ...

    def estimate_send(
        self, snapshot: str, base_snapshot: str = "", resume_token: str = ""
    ) -> SendEstimate:
        """With resume_token: what is left to send of that partial receive of snapshot."""
        ...

    def inspect_stack(
        self,
        compose_path: str,
        project_name: str = "",
        compose_files: Sequence[str] = (),
        env_files: Sequence[str] = (),
    ) -> StackInfo:
        """The project of the -f list `compose_files` (() : compose_path alone; with
        compose_path "" too: the files its running containers' labels name)."""
        ...

    def stop_stack(
        self,
        project_name: str,
        compose_path: str,
        timeout: int = 0,
        compose_files: Sequence[str] = (),
        env_files: Sequence[str] = (),
    ) -> StackStatus:
        """Stops the services dependents first, each given `timeout` seconds before SIGKILL
        (0: its own stop_grace_period); says how long it took and who was killed."""
        ...

    def start_stack(
        self,
        project_name: str,
        compose_path: str,
        timeout: int = 60,
        compose_files: Sequence[str] = (),
        env_files: Sequence[str] = (),
        services: Sequence[str] = (),
    ) -> None:
        """Starts the services with a container (`services`: only those, in start order:
        one stopped before the migration stays stopped)."""
        ...

    def check_deploy(self, request: DeployRequest) -> DeployChecks: ...

    def deploy_stack(self, request: DeployRequest) -> DeployResult:
        """Writes and starts the stack, and waits until every service is ready (or undoes it)."""
        ...

    def push_zfs(self, transfer: ZfsTransfer, peer: AgentClient, ticket: str = "") -> TransferCall:
        """Asks `peer` for a ticket (unless given one it issued, prepare_zfs_receive), then
        streams this host's snapshot straight into it."""
        ...

    def push_images(
        self,
        images: Sequence[str],
        peer: AgentClient,
        bandwidth_limit: int = 0,
        compression: str = "none",
    ) -> TransferCall:
        """Streams the images into `peer` (docker save | docker load), compressed on the wire
        as asked ("none", "lz4", "zstd", "auto")."""
        ...

    def prepare_zfs_receive(
        self, target_dataset: str, base_guid: str = "", resume: bool = False, ttl: int = 0
    ) -> str:
        """The one-time ticket for a zfs stream into this host (used by the peer's push);
        resume: the stream continues the partial receive target_dataset holds; ttl seconds
        (0: the agent's default)."""
        ...

    def prepare_image_receive(self, images: Sequence[str]) -> str: ...

    def claim(self, claim: Claim) -> ClaimGrant:
        """Reserves (or renews) claim's resources for the bound migration; AlreadyExists,
        naming the holder migration id, when another migration holds any of them."""
        ...

    def release(self, committed: bool) -> ReleaseResult:
        """Drops every claim of the bound migration; committed=True also marks its journaled
        deploy committed. deploy_live=False: that deploy is no longer in place (the agent's
        restart reconcile removed it), so the migration must not be reported a success."""
        ...

    def discard(self) -> DiscardResult:
        """Target clean-up: stops and removes the bound migration's journaled deploy, then
        destroys what carries its mark; everything else is kept and listed. Idempotent."""
        ...

    def inspect_volume(self, name: str) -> VolumeInfo:
        """The named volume on this host's engine; exists=False when there is none."""
        ...

    def create_volume(self, spec: VolumeSpec, allow_overwrite: bool = False) -> VolumeInfo:
        """Creates `spec` plus the label stackferry.migration=<bound migration id>. One that
        exists already: carrying that label, returned as is; empty and unused, recreated from
        spec; else AlreadyExists unless allow_overwrite (then kept, for the sync to overwrite)."""
        ...

    def prepare_file_receive(
        self,
        target: FileTree,
        allow_overwrite: bool = False,
        checksum: bool = False,
        ttl: int = 0,
    ) -> str:
        """The one-time ticket for a file pass into this host (used by the peer's push). A
        directory target is created under the path roots and marked with the migration id; a
        volume target must exist. A non-empty target this migration did not create:
        AlreadyExists unless allow_overwrite."""
        ...

    def push_files(
        self, transfer: FileTransfer, peer: AgentClient, ticket: str = ""
    ) -> TransferCall:
        """One pass: asks `peer` for a ticket (unless given one it issued), then this host's
        rsync (sender) and the peer's (receiver) talk through one gRPC stream. A later pass
        sends only the difference. A cut stream or a failed rsync on either side raises; no
        half-written file is left in place."""
        ...

    def file_manifest(self, tree: FileTree) -> FileManifest:
        """The tree summed up: equal digests on both hosts mean the data arrived whole."""
        ...


class Dialer(Protocol):
    """Reaches agents by address."""

    def dial(self, address: str, migration_id: str = "") -> AgentClient:
        """A client bound to migration_id ("" for calls outside a migration); InvalidArgument
        for an address that is not HOST:PORT; reaching it happens per call."""
        ...

    def ping(self, address: str) -> AgentPing:
        """Never raises: an agent that does not answer is reported unreachable."""
        ...

    def close(self) -> None: ...
