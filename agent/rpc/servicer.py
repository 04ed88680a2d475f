"""The Agent servicer: thin adapters, one mixin per concern, composed here."""

from __future__ import annotations

from agent.pb import agent_pb2_grpc
from agent.rpc.stack_rpc import StackRpc
from agent.rpc.storage_rpc import StorageRpc
from agent.rpc.transfer_rpc import TransferRpc
from agent.service import AgentService


class AgentServicer(StorageRpc, TransferRpc, StackRpc, agent_pb2_grpc.AgentServicer):
    def __init__(self, service: AgentService) -> None:
        self.service = service
