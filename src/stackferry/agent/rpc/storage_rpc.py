"""RPCs GetInfo, Snapshot, GetDatasets, EstimateSend: request -> agent/snapshots.py -> reply."""

from __future__ import annotations

import grpc
import structlog

from stackferry.agent import snapshots
from stackferry.agent.rpc.status import maps_errors
from stackferry.agent.service import AgentService
from stackferry.api.agent import convert
from stackferry.api.agent.v1 import agent_pb2
from stackferry.hostapi import AGENT_API_VERSION

log = structlog.get_logger(__name__)

ACTION_NAMES: dict[int, str] = {
    agent_pb2.SNAPSHOT_CREATE: "create",
    agent_pb2.SNAPSHOT_LIST: "list",
    agent_pb2.SNAPSHOT_DESTROY: "destroy",
    agent_pb2.SNAPSHOT_HOLD: "hold",
    agent_pb2.SNAPSHOT_RELEASE: "release",
}


class StorageRpc:
    service: AgentService

    @maps_errors
    def GetInfo(
        self, request: agent_pb2.GetInfoRequest, context: grpc.ServicerContext
    ) -> agent_pb2.AgentInfo:
        service = self.service
        return agent_pb2.AgentInfo(
            version=service.version,
            hostname=service.hostname,
            storage_backend=service.storage.name,
            storage_features=service.storage.features(),
            zfs_version=service.storage.version() if service.storage.name == "zfs" else "",
            allowed_dataset_roots=list(service.roots.datasets),
            allowed_path_roots=list(service.roots.paths),
            api_version=AGENT_API_VERSION,
            **self._runtime_info(),
        )

    def _runtime_info(self) -> dict[str, str]:
        # The storage half of GetInfo is still worth answering when Docker misbehaves.
        try:
            info = self.service.runtime.info()
        except Exception as exc:  # any runtime failure: report no engine, keep serving
            log.warning("runtime info failed", error=str(exc))
            return {}
        keys = ("docker_version", "compose_variant", "compose_version")
        return {k: str(info.get(k, "")) for k in keys}

    @maps_errors
    def Snapshot(
        self, request: agent_pb2.SnapshotRequest, context: grpc.ServicerContext
    ) -> agent_pb2.SnapshotReply:
        found = snapshots.snapshot_action(
            self.service.storage,
            self.service.roots,
            ACTION_NAMES.get(request.action, "unspecified"),
            list(request.datasets),
            request.name,
            request.recursive,
            request.hold_tag,
        )
        return agent_pb2.SnapshotReply(snapshots=[convert.snapshot_to_pb(s) for s in found])

    @maps_errors
    def GetDatasets(
        self, request: agent_pb2.GetDatasetsRequest, context: grpc.ServicerContext
    ) -> agent_pb2.GetDatasetsReply:
        found = snapshots.get_datasets(
            self.service.storage, self.service.roots, list(request.datasets), request.recursive
        )
        return agent_pb2.GetDatasetsReply(datasets=[convert.dataset_to_pb(d) for d in found])

    @maps_errors
    def EstimateSend(
        self, request: agent_pb2.EstimateSendRequest, context: grpc.ServicerContext
    ) -> agent_pb2.SendEstimate:
        estimate = snapshots.estimate_send(
            self.service.storage,
            self.service.roots,
            request.snapshot,
            request.base_snapshot,
            request.resume_token,
        )
        return convert.estimate_to_pb(estimate)
