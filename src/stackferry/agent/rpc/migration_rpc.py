"""RPCs Claim, Release, Discard: request -> agent/service.py -> reply."""

from __future__ import annotations

import grpc

from stackferry.agent.rpc.status import maps_errors
from stackferry.agent.service import AgentService
from stackferry.api.agent import convert
from stackferry.api.agent.v1 import agent_pb2


class MigrationRpc:
    service: AgentService

    @maps_errors
    def Claim(
        self, request: agent_pb2.ClaimRequest, context: grpc.ServicerContext
    ) -> agent_pb2.ClaimGrant:
        grant = self.service.claim(request.migration_id, convert.claim_from_pb(request.claim))
        return convert.claim_grant_to_pb(grant)

    @maps_errors
    def Release(
        self, request: agent_pb2.ReleaseRequest, context: grpc.ServicerContext
    ) -> agent_pb2.ReleaseResult:
        released = self.service.release(request.migration_id, request.committed)
        return convert.release_result_to_pb(released)

    @maps_errors
    def Discard(
        self, request: agent_pb2.DiscardRequest, context: grpc.ServicerContext
    ) -> agent_pb2.DiscardResult:
        return convert.discard_result_to_pb(self.service.discard(request.migration_id))
