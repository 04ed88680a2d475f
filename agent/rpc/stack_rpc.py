"""RPCs InspectStack, StopStack, StartStack, CheckDeploy, DeployStack: thin adapters over
agent/stacks.py."""

from __future__ import annotations

import grpc

from agent.errors import InvalidArgument
from agent.pb import agent_pb2
from agent.rpc import stack_convert as convert
from agent.rpc.status import maps_errors
from agent.service import AgentService
from agent.stacks import StackService


class StackRpc:
    service: AgentService

    @property
    def stacks(self) -> StackService:
        return StackService(self.service.roots, self.service.storage, self.service.runtime)

    @maps_errors
    def InspectStack(
        self, request: agent_pb2.InspectStackRequest, context: grpc.ServicerContext
    ) -> agent_pb2.StackInfo:
        return convert.stack_info(self.stacks.inspect(request.compose_path, request.project_name))

    @maps_errors
    def StopStack(
        self, request: agent_pb2.StackRef, context: grpc.ServicerContext
    ) -> agent_pb2.StackStatus:
        _require_compose_path(request)
        stopped = self.stacks.stop(
            request.compose_path, request.project_name, request.timeout_seconds
        )
        return convert.stack_status(stopped)

    @maps_errors
    def StartStack(
        self, request: agent_pb2.StackRef, context: grpc.ServicerContext
    ) -> agent_pb2.StackStatus:
        _require_compose_path(request)
        started = self.stacks.start(
            request.compose_path, request.project_name, request.timeout_seconds
        )
        return convert.stack_status(started)

    @maps_errors
    def CheckDeploy(
        self, request: agent_pb2.DeployStackRequest, context: grpc.ServicerContext
    ) -> agent_pb2.CheckDeployReply:
        checked = self.stacks.check_deploy(convert.deploy_request(request))
        return convert.check_deploy_reply(checked)

    @maps_errors
    def DeployStack(
        self, request: agent_pb2.DeployStackRequest, context: grpc.ServicerContext
    ) -> agent_pb2.DeployStackReply:
        return convert.deploy_reply(self.stacks.deploy(convert.deploy_request(request)))


def _require_compose_path(request: agent_pb2.StackRef) -> None:
    if not request.compose_path:
        raise InvalidArgument("compose_path is required (compose stop/start reads the file)")
