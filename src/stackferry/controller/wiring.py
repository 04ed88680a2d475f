"""Assembles a controller from its config: state store, agent dialer, service.

Shared by the daemon (controller/__main__.py) and the CLI's embedded controller, so both run
exactly the same thing.
"""

from __future__ import annotations

from pathlib import Path

from stackferry.common.grpc_options import channel_credentials
from stackferry.controller.agents import AgentDialer
from stackferry.controller.config import ControllerConfig
from stackferry.controller.service import ControllerService
from stackferry.controller.store.sql import SqlMigrationStore


def build_service(config: ControllerConfig) -> ControllerService:
    if not config.db_url:
        Path(config.resolved_state_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
    store = SqlMigrationStore(config.resolved_db_url)
    credentials = (
        None
        if config.insecure
        else channel_credentials(config.tls_ca, config.tls_cert, config.tls_key)
    )
    dialer = AgentDialer(credentials)
    return ControllerService(
        store,
        dialer,
        owner_id=config.owner_id or None,
        lease_ttl=config.lease_seconds,
        retry=config.retry,
    )
