"""RPCs GetInfo, Snapshot, GetDatasets, EstimateSend: request -> agent/service.py -> reply."""

from __future__ import annotations

import grpc

from stackferry.agent.rpc.status import maps_errors
from stackferry.agent.service import AgentService
from stackferry.api.agent import convert
from stackferry.api.agent.v1 import agent_pb2

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
        return convert.agent_info_to_pb(self.service.info())

    @maps_errors
    def Snapshot(
        self, request: agent_pb2.SnapshotRequest, context: grpc.ServicerContext
    ) -> agent_pb2.SnapshotReply:
        found = self.service.snapshot(
            ACTION_NAMES.get(request.action, "unspecified"),
            list(request.datasets),
            request.name,
            request.recursive,
            request.hold_tag,
            request.migration_id,
        )
        return agent_pb2.SnapshotReply(snapshots=[convert.snapshot_to_pb(s) for s in found])

    @maps_errors
    def GetDatasets(
        self, request: agent_pb2.GetDatasetsRequest, context: grpc.ServicerContext
    ) -> agent_pb2.GetDatasetsReply:
        found = self.service.get_datasets(list(request.datasets), request.recursive)
        return agent_pb2.GetDatasetsReply(datasets=[convert.dataset_to_pb(d) for d in found])

    @maps_errors
    def EstimateSend(
        self, request: agent_pb2.EstimateSendRequest, context: grpc.ServicerContext
    ) -> agent_pb2.SendEstimate:
        estimate = self.service.estimate_send(
            request.snapshot, request.base_snapshot, request.resume_token
        )
        return convert.estimate_to_pb(estimate)
