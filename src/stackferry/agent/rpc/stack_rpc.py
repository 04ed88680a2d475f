"""RPCs InspectStack, StopStack, StartStack, CheckDeploy, DeployStack: request ->
agent/service.py -> reply."""

from __future__ import annotations

import grpc

from stackferry.agent.rpc.status import maps_errors
from stackferry.agent.service import AgentService
from stackferry.api.agent import convert
from stackferry.api.agent.v1 import agent_pb2


class StackRpc:
    service: AgentService

    @maps_errors
    def InspectStack(
        self, request: agent_pb2.InspectStackRequest, context: grpc.ServicerContext
    ) -> agent_pb2.StackInfo:
        stack = self.service.inspect_stack(
            request.compose_path,
            request.project_name,
            tuple(request.compose_files),
            tuple(request.env_files),
        )
        return convert.stack_to_pb(stack)

    @maps_errors
    def StopStack(
        self, request: agent_pb2.StackRef, context: grpc.ServicerContext
    ) -> agent_pb2.StackStatus:
        stopped = self.service.stop_stack(
            request.compose_path,
            request.project_name,
            request.timeout_seconds,
            request.migration_id,
            tuple(request.compose_files),
            tuple(request.env_files),
        )
        return convert.stack_status_to_pb(stopped)

    @maps_errors
    def StartStack(
        self, request: agent_pb2.StackRef, context: grpc.ServicerContext
    ) -> agent_pb2.StackStatus:
        started = self.service.start_stack(
            request.compose_path,
            request.project_name,
            request.timeout_seconds,
            request.migration_id,
            tuple(request.compose_files),
            tuple(request.env_files),
            tuple(request.services),
        )
        return convert.stack_status_to_pb(started)

    @maps_errors
    def CheckDeploy(
        self, request: agent_pb2.DeployRequest, context: grpc.ServicerContext
    ) -> agent_pb2.DeployChecks:
        checks = self.service.check_deploy(convert.deploy_request_from_pb(request))
        return convert.deploy_checks_to_pb(checks)

    @maps_errors
    def DeployStack(
        self, request: agent_pb2.DeployRequest, context: grpc.ServicerContext
    ) -> agent_pb2.DeployResult:
        result = self.service.deploy_stack(convert.deploy_request_from_pb(request))
        return convert.deploy_result_to_pb(result)
