"""Assembles an agent's service from its config: roots, storage backend, container runtime,
tickets, claims and journal (both in the state dir), and the gRPC dialer of peer agents.

Used by the daemon (agent/__main__.py); the benchmark's agent (bench/null_sink_agent.py)
replaces the storage of what this builds.
"""

from __future__ import annotations

from stackferry.agent.claims import ClaimBook
from stackferry.agent.config import AgentConfig
from stackferry.agent.journal import Journal
from stackferry.agent.roots import Roots
from stackferry.agent.rpc.file_peer import GrpcFilePeerDialer
from stackferry.agent.rpc.peer import GrpcPeerDialer
from stackferry.agent.runtime import make_runtime
from stackferry.agent.service import AgentService
from stackferry.agent.storage import make_backend
from stackferry.agent.tickets import TicketBook


def build_service(config: AgentConfig) -> AgentService:
    journal = Journal(config.state_dir)
    peers = GrpcPeerDialer(config)  # zfs and image pushes, and file passes: one set of connections
    return AgentService(
        config=config,
        roots=Roots(config.allowed_dataset_roots, config.allowed_path_roots),
        storage=make_backend(config, journal.record_created),
        runtime=make_runtime(config),
        tickets=TicketBook(default_ttl=config.ticket_ttl_seconds),
        peers=peers,
        claims=ClaimBook(config.state_dir),
        journal=journal,
        file_peers=GrpcFilePeerDialer(config, peers.connections),
    )
