"""The gRPC implementation of controller/ports.py: AgentDialer, its agent clients and streams.

Besides controller/api this is the only controller module that imports grpc: it converts
agent protobuf messages to stackferry/hostapi.py values (through api/agent/convert.py) and
gRPC errors to controller errors, so the engine, planning and validation stay free of both.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import grpc

from stackferry.api.agent import convert
from stackferry.api.agent.v1 import agent_pb2 as pb
from stackferry.api.agent.v1 import agent_pb2_grpc
from stackferry.common.grpc_options import open_channel
from stackferry.controller import errors
from stackferry.controller.ports import AgentClient, TransferCall, TransferEvent
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
    VolumeInfo,
    VolumeSpec,
    ZfsTransfer,
    deploy_bound_seconds,
)

UNARY_TIMEOUT = 60.0
# A stop under the services' own grace periods: the agent stops them one after another, each
# within its stop_grace_period; this bounds the wait for all of them.
GRACE_STOP_SECONDS = 900
MANIFEST_TIMEOUT = 3600.0  # a manifest reads every byte of the tree


def deploy_deadline(wait_timeout_seconds: int) -> float:
    """The agent's own bound for the deploy (hostapi.deploy_bound_seconds) with a margin for
    the journal, the status and the logs it collects: passed, the agent is in trouble, and
    the call ends Unavailable while the deploy cannot still be running."""
    return deploy_bound_seconds(wait_timeout_seconds) + UNARY_TIMEOUT


class AgentFailed(errors.ControllerError):
    """An agent answered with an error no more specific controller error describes."""

    def __init__(self, address: str, code: str, message: str) -> None:
        self.address = address
        self.code = code
        super().__init__(f"agent {address}: {code}: {message}")


ERROR_OF: dict[grpc.StatusCode, type[errors.ControllerError]] = {
    grpc.StatusCode.NOT_FOUND: errors.NotFound,
    grpc.StatusCode.ALREADY_EXISTS: errors.AlreadyExists,
    grpc.StatusCode.FAILED_PRECONDITION: errors.FailedPrecondition,
    grpc.StatusCode.INVALID_ARGUMENT: errors.InvalidArgument,
    grpc.StatusCode.UNAVAILABLE: errors.Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: errors.Unavailable,
}


def controller_error(address: str, exc: grpc.RpcError) -> errors.ControllerError:
    code = exc.code() if isinstance(exc, grpc.Call) else grpc.StatusCode.UNKNOWN
    detail = exc.details() if isinstance(exc, grpc.Call) else str(exc)
    cls = ERROR_OF.get(code)
    if cls is None:
        return AgentFailed(address, code.name, detail or "")
    if cls is errors.Unavailable:
        return errors.Unavailable(f"agent {address}: {detail}", address)
    return cls(f"agent {address}: {detail}")


R = TypeVar("R")


class GrpcAgentClient:
    """One agent over gRPC, bound to one migration id that goes into every request with the
    field (the agent checks its claims and journals by it)."""

    def __init__(self, address: str, channel: grpc.Channel, migration_id: str = "") -> None:
        self.address = address
        self.migration_id = migration_id
        self._stub = agent_pb2_grpc.AgentStub(channel)

    def _call(self, method: Callable[..., R], request: Any, timeout: float = UNARY_TIMEOUT) -> R:
        try:
            return method(request, timeout=timeout)
        except grpc.RpcError as exc:
            raise controller_error(self.address, exc) from None

    def info(self) -> AgentInfo:
        reply = self._call(self._stub.GetInfo, pb.GetInfoRequest(), timeout=10)
        return convert.agent_info_from_pb(reply)

    def _snapshot(self, action: int, datasets: Sequence[str], name: str) -> list[SnapshotInfo]:
        request = pb.SnapshotRequest(
            action=action,  # type: ignore[arg-type]
            datasets=list(datasets),
            name=name,
            migration_id=self.migration_id,
        )
        reply = self._call(self._stub.Snapshot, request)
        return [convert.snapshot_from_pb(s) for s in reply.snapshots]

    def create_snapshot(self, datasets: Sequence[str], name: str) -> list[SnapshotInfo]:
        return self._snapshot(pb.SNAPSHOT_CREATE, datasets, name)

    def list_snapshots(self, datasets: Sequence[str], name: str = "") -> list[SnapshotInfo]:
        return self._snapshot(pb.SNAPSHOT_LIST, datasets, name)

    def destroy_snapshot(self, datasets: Sequence[str], name: str) -> None:
        self._snapshot(pb.SNAPSHOT_DESTROY, datasets, name)

    def get_datasets(self, names: Sequence[str]) -> list[DatasetInfo]:
        reply = self._call(self._stub.GetDatasets, pb.GetDatasetsRequest(datasets=list(names)))
        return [convert.dataset_from_pb(d) for d in reply.datasets]

    def estimate_send(
        self, snapshot: str, base_snapshot: str = "", resume_token: str = ""
    ) -> SendEstimate:
        request = pb.EstimateSendRequest(
            snapshot=snapshot, base_snapshot=base_snapshot, resume_token=resume_token
        )
        reply = self._call(self._stub.EstimateSend, request)
        return convert.estimate_from_pb(reply)

    def inspect_stack(
        self,
        compose_path: str,
        project_name: str = "",
        compose_files: Sequence[str] = (),
        env_files: Sequence[str] = (),
    ) -> StackInfo:
        request = pb.InspectStackRequest(
            compose_path=compose_path,
            project_name=project_name,
            compose_files=list(compose_files),
            env_files=list(env_files),
        )
        return convert.stack_from_pb(self._call(self._stub.InspectStack, request))

    def _stack_ref(
        self,
        project_name: str,
        compose_path: str,
        timeout: int,
        compose_files: Sequence[str],
        env_files: Sequence[str],
    ) -> pb.StackRef:
        return pb.StackRef(
            project_name=project_name,
            compose_path=compose_path,
            timeout_seconds=timeout,
            migration_id=self.migration_id,
            compose_files=list(compose_files),
            env_files=list(env_files),
        )

    def stop_stack(
        self,
        project_name: str,
        compose_path: str,
        timeout: int = 0,
        compose_files: Sequence[str] = (),
        env_files: Sequence[str] = (),
    ) -> StackStatus:
        ref = self._stack_ref(project_name, compose_path, timeout, compose_files, env_files)
        deadline = (timeout or GRACE_STOP_SECONDS) + UNARY_TIMEOUT
        return convert.stack_status_from_pb(self._call(self._stub.StopStack, ref, timeout=deadline))

    def start_stack(
        self,
        project_name: str,
        compose_path: str,
        timeout: int = 60,
        compose_files: Sequence[str] = (),
        env_files: Sequence[str] = (),
        services: Sequence[str] = (),
    ) -> None:
        ref = self._stack_ref(project_name, compose_path, timeout, compose_files, env_files)
        ref.services.extend(services)
        self._call(self._stub.StartStack, ref, timeout=timeout + UNARY_TIMEOUT)

    def _deploy_request(self, request: DeployRequest) -> pb.DeployRequest:
        request_pb = convert.deploy_request_to_pb(request)
        if not request_pb.migration_id:
            request_pb.migration_id = self.migration_id
        return request_pb

    def check_deploy(self, request: DeployRequest) -> DeployChecks:
        reply = self._call(self._stub.CheckDeploy, self._deploy_request(request))
        return convert.deploy_checks_from_pb(reply)

    def deploy_stack(self, request: DeployRequest) -> DeployResult:
        request_pb = self._deploy_request(request)
        deadline = deploy_deadline(request.wait_timeout_seconds)
        reply = self._call(self._stub.DeployStack, request_pb, timeout=deadline)
        return convert.deploy_result_from_pb(reply)

    def prepare_zfs_receive(
        self, target_dataset: str, base_guid: str = "", resume: bool = False, ttl: int = 0
    ) -> str:
        request = pb.PrepareReceiveRequest(
            kind=pb.STREAM_ZFS,
            target_dataset=target_dataset,
            base_snapshot_guid=base_guid,
            resume=resume,
            migration_id=self.migration_id,
            ttl_seconds=ttl,
        )
        return self._call(self._stub.PrepareReceive, request).ticket

    def prepare_image_receive(self, images: Sequence[str]) -> str:
        request = pb.PrepareReceiveRequest(
            kind=pb.STREAM_IMAGES, images=list(images), migration_id=self.migration_id
        )
        return self._call(self._stub.PrepareReceive, request).ticket

    def claim(self, claim: Claim) -> ClaimGrant:
        request = pb.ClaimRequest(migration_id=self.migration_id, claim=convert.claim_to_pb(claim))
        return convert.claim_grant_from_pb(self._call(self._stub.Claim, request))

    def release(self, committed: bool) -> ReleaseResult:
        request = pb.ReleaseRequest(migration_id=self.migration_id, committed=committed)
        return convert.release_result_from_pb(self._call(self._stub.Release, request))

    def discard(self) -> DiscardResult:
        request = pb.DiscardRequest(migration_id=self.migration_id)
        # Discard stops a deploy and destroys datasets: give it the time a stop takes.
        reply = self._call(self._stub.Discard, request, timeout=UNARY_TIMEOUT + 120)
        return convert.discard_result_from_pb(reply)

    def inspect_volume(self, name: str) -> VolumeInfo:
        reply = self._call(self._stub.VolumeInspect, pb.VolumeInspectRequest(name=name))
        return convert.volume_from_pb(reply)

    def create_volume(self, spec: VolumeSpec, allow_overwrite: bool = False) -> VolumeInfo:
        request = pb.VolumeCreateRequest(
            spec=convert.volume_spec_to_pb(spec),
            allow_overwrite=allow_overwrite,
            migration_id=self.migration_id,
        )
        return convert.volume_from_pb(self._call(self._stub.VolumeCreate, request))

    def prepare_file_receive(
        self,
        target: FileTree,
        allow_overwrite: bool = False,
        checksum: bool = False,
        ttl: int = 0,
    ) -> str:
        request = pb.PrepareReceiveRequest(
            kind=pb.STREAM_FILES,
            target_files=convert.file_tree_to_pb(target),
            allow_overwrite=allow_overwrite,
            file_checksum=checksum,
            migration_id=self.migration_id,
            ttl_seconds=ttl,
        )
        return self._call(self._stub.PrepareReceive, request).ticket

    def push_files(
        self, transfer: FileTransfer, peer: AgentClient, ticket: str = ""
    ) -> TransferCall:
        ticket = ticket or peer.prepare_file_receive(
            transfer.target, transfer.allow_overwrite, transfer.checksum
        )
        header = pb.ReceiveHeader(
            kind=pb.STREAM_FILES,
            ticket=ticket,
            target_files=convert.file_tree_to_pb(transfer.target),
            allow_overwrite=transfer.allow_overwrite,
            file_checksum=transfer.checksum,
            files_final=transfer.final,
        )
        request = pb.SendRequest(
            kind=pb.STREAM_FILES,
            source_files=convert.file_tree_to_pb(transfer.source),
            peer=peer.address,
            header=header,
            bandwidth_limit_bytes_per_second=transfer.bandwidth_limit,
        )
        return GrpcTransferCall(self.address, self._stub.SendStream(request))

    def file_manifest(self, tree: FileTree) -> FileManifest:
        request = pb.FileManifestRequest(tree=convert.file_tree_to_pb(tree))
        reply = self._call(self._stub.FileManifest, request, timeout=MANIFEST_TIMEOUT)
        return convert.file_manifest_from_pb(reply)

    def push_zfs(self, transfer: ZfsTransfer, peer: AgentClient, ticket: str = "") -> TransferCall:
        resume = bool(transfer.resume_token)
        ticket = ticket or peer.prepare_zfs_receive(
            transfer.target_dataset, transfer.base_guid, resume
        )
        header = pb.ReceiveHeader(
            kind=pb.STREAM_ZFS,
            ticket=ticket,
            target_dataset=transfer.target_dataset,
            base_snapshot_guid=transfer.base_guid,
            bytes_expected=transfer.bytes_expected,
            source_snapshot=transfer.snapshot,
            resumable=transfer.resumable,
            resume=resume,
        )
        request = pb.SendRequest(
            kind=pb.STREAM_ZFS,
            snapshot=transfer.snapshot,
            base_snapshot=transfer.base_snapshot,
            peer=peer.address,
            header=header,
            bandwidth_limit_bytes_per_second=transfer.bandwidth_limit,
            resume_token=transfer.resume_token,
            compression=transfer.compression,
            zfs_compressed=transfer.zfs_compressed,
        )
        return GrpcTransferCall(self.address, self._stub.SendStream(request))

    def push_images(
        self,
        images: Sequence[str],
        peer: AgentClient,
        bandwidth_limit: int = 0,
        compression: str = "none",
    ) -> TransferCall:
        ticket = peer.prepare_image_receive(images)
        request = pb.SendRequest(
            kind=pb.STREAM_IMAGES,
            images=list(images),
            peer=peer.address,
            header=pb.ReceiveHeader(kind=pb.STREAM_IMAGES, ticket=ticket),
            bandwidth_limit_bytes_per_second=bandwidth_limit,
            compression=compression,
        )
        return GrpcTransferCall(self.address, self._stub.SendStream(request))


class GrpcTransferCall:
    """SendStream's event stream as domain values; gRPC errors become controller errors."""

    def __init__(self, address: str, call: Any) -> None:
        self._address = address
        self._call = call

    def __iter__(self) -> Iterator[TransferEvent]:
        try:
            for event in self._call:
                which = event.WhichOneof("event")
                if which == "progress":
                    yield convert.progress_from_pb(event.progress)
                elif which == "done":
                    yield convert.result_from_pb(event.done)
        except grpc.RpcError as exc:
            raise controller_error(self._address, exc) from None

    def cancel(self) -> None:
        self._call.cancel()


class AgentDialer:
    """Opens (and caches) one channel per agent address with the controller's credentials
    (None: plaintext, for agents started with --insecure)."""

    def __init__(self, credentials: grpc.ChannelCredentials | None = None) -> None:
        self._credentials = credentials
        self._channels: dict[str, grpc.Channel] = {}
        self._lock = threading.Lock()

    def dial(self, address: str, migration_id: str = "") -> AgentClient:
        host, sep, port = address.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise errors.InvalidArgument(f"agent address {address!r} is not HOST:PORT")
        with self._lock:
            channel = self._channels.get(address)
            if channel is None:
                channel = open_channel(address, self._credentials)
                self._channels[address] = channel
        return GrpcAgentClient(address, channel, migration_id)

    def ping(self, address: str) -> AgentPing:
        started = time.monotonic()
        try:
            info = self.dial(address).info()
        except errors.ControllerError as exc:
            return AgentPing(address, reachable=False, error=str(exc))
        return AgentPing.reached(address, info, (time.monotonic() - started) * 1000)

    def close(self) -> None:
        with self._lock:
            for channel in self._channels.values():
                channel.close()
            self._channels.clear()
