"""What the controller needs of the hosts, as Protocols: the engine, the service and the planner
are typed against these; controller/agents.py implements them over gRPC, and a test may hand
in any other implementation (tests/fakes)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from stackferry.hostapi import (
    AgentInfo,
    AgentPing,
    DatasetInfo,
    DeployChecks,
    DeployRequest,
    DeployResult,
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
    """One agent. Its errors are controller errors (controller/errors.py): Unavailable when it
    cannot be reached, NotFound for a dataset or snapshot it does not have."""

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


class Dialer(Protocol):
    """Reaches agents by address."""

    def dial(self, address: str) -> AgentClient:
        """InvalidArgument for an address that is not HOST:PORT; reaching it happens per call."""
        ...

    def ping(self, address: str) -> AgentPing:
        """Never raises: an agent that does not answer is reported unreachable."""
        ...

    def close(self) -> None: ...
