"""RPCs InspectStack, StopStack, StartStack, CheckDeploy, DeployStack: thin adapters over
agent/stacks.py."""

from __future__ import annotations

import grpc

from stackferry.agent.errors import InvalidArgument
from stackferry.agent.rpc.status import maps_errors
from stackferry.agent.service import AgentService
from stackferry.agent.stacks import StackService
from stackferry.api.agent import convert
from stackferry.api.agent.v1 import agent_pb2
from stackferry.hostapi import StackInfo, StackStatus


class StackRpc:
    service: AgentService

    @property
    def stacks(self) -> StackService:
        return StackService(self.service.roots, self.service.storage, self.service.runtime)

    @maps_errors
    def InspectStack(
        self, request: agent_pb2.InspectStackRequest, context: grpc.ServicerContext
    ) -> agent_pb2.StackInfo:
        return convert.stack_to_pb(self.stacks.inspect(request.compose_path, request.project_name))

    @maps_errors
    def StopStack(
        self, request: agent_pb2.StackRef, context: grpc.ServicerContext
    ) -> agent_pb2.StackStatus:
        _require_compose_path(request)
        stopped = self.stacks.stop(
            request.compose_path, request.project_name, request.timeout_seconds
        )
        return _status(stopped)

    @maps_errors
    def StartStack(
        self, request: agent_pb2.StackRef, context: grpc.ServicerContext
    ) -> agent_pb2.StackStatus:
        _require_compose_path(request)
        started = self.stacks.start(
            request.compose_path, request.project_name, request.timeout_seconds
        )
        return _status(started)

    @maps_errors
    def CheckDeploy(
        self, request: agent_pb2.DeployRequest, context: grpc.ServicerContext
    ) -> agent_pb2.DeployChecks:
        checked = self.stacks.check_deploy(convert.deploy_request_from_pb(request))
        return convert.deploy_checks_to_pb(checked)

    @maps_errors
    def DeployStack(
        self, request: agent_pb2.DeployRequest, context: grpc.ServicerContext
    ) -> agent_pb2.DeployResult:
        return convert.deploy_result_to_pb(
            self.stacks.deploy(convert.deploy_request_from_pb(request))
        )


def _require_compose_path(request: agent_pb2.StackRef) -> None:
    if not request.compose_path:
        raise InvalidArgument("compose_path is required (compose stop/start reads the file)")


def _status(stack: StackInfo) -> agent_pb2.StackStatus:
    return convert.stack_status_to_pb(StackStatus(stack.project_name, stack.services))
