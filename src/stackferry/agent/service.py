"""The agent's domain service: the pieces the RPC layer adapts. No grpc here."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

from stackferry.agent import __version__
from stackferry.agent.config import AgentConfig
from stackferry.agent.roots import Roots
from stackferry.agent.runtime import make_runtime
from stackferry.agent.runtime.base import ContainerRuntime
from stackferry.agent.storage import make_backend
from stackferry.agent.storage.base import StorageBackend
from stackferry.agent.tickets import TicketBook


@dataclass
class AgentService:
    config: AgentConfig
    roots: Roots
    storage: StorageBackend
    runtime: ContainerRuntime
    tickets: TicketBook
    hostname: str = field(default_factory=socket.gethostname)
    version: str = __version__


def build_service(config: AgentConfig) -> AgentService:
    return AgentService(
        config=config,
        roots=Roots(config.allowed_dataset_roots, config.allowed_path_roots),
        storage=make_backend(config),
        runtime=make_runtime(config),
        tickets=TicketBook(default_ttl=config.ticket_ttl_seconds),
    )
