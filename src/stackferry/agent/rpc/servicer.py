"""The Agent servicer: thin adapters, one mixin per concern, composed here."""

from __future__ import annotations

from stackferry.agent.rpc.file_rpc import FileRpc
from stackferry.agent.rpc.migration_rpc import MigrationRpc
from stackferry.agent.rpc.stack_rpc import StackRpc
from stackferry.agent.rpc.storage_rpc import StorageRpc
from stackferry.agent.rpc.transfer_rpc import TransferRpc
from stackferry.agent.service import AgentService
from stackferry.api.agent.v1 import agent_pb2_grpc


class AgentServicer(
    StorageRpc, TransferRpc, StackRpc, MigrationRpc, FileRpc, agent_pb2_grpc.AgentServicer
):
    def __init__(self, service: AgentService) -> None:
        self.service = service
