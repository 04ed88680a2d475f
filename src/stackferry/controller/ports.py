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
    ReleaseResult,
    SendEstimate,
    SnapshotInfo,
    StackInfo,
    TransferProgress,
    TransferResult,
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

    def inspect_stack(self, compose_path: str, project_name: str = "") -> StackInfo: ...

    def stop_stack(self, project_name: str, compose_path: str, timeout: int = 30) -> None: ...

    def start_stack(self, project_name: str, compose_path: str, timeout: int = 60) -> None: ...

    def check_deploy(self, request: DeployRequest) -> DeployChecks: ...

    def deploy_stack(self, request: DeployRequest) -> DeployResult:
        """Writes and starts the stack, and waits until every service is ready (or undoes it)."""
        ...

    def push_zfs(self, transfer: ZfsTransfer, peer: AgentClient) -> TransferCall:
        """Asks `peer` for a ticket, then streams this host's snapshot straight into it."""
        ...

    def push_images(
        self, images: Sequence[str], peer: AgentClient, bandwidth_limit: int = 0
    ) -> TransferCall: ...

    def prepare_zfs_receive(
        self, target_dataset: str, base_guid: str = "", resume: bool = False
    ) -> str:
        """The one-time ticket for a zfs stream into this host (used by the peer's push);
        resume: the stream continues the partial receive target_dataset holds."""
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
