"""stackferry-agent: config -> logging -> service -> reconcile -> serve, until SIGTERM / SIGINT.

Before it serves, the agent takes down every deploy its journal says was started for a
migration that never committed (agent/cleanup.py); if it cannot, it does not start. On
the way out it ends every child process group it still has (agent/exec.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import structlog

from stackferry.agent import exec as agent_exec
from stackferry.agent.config import ENV_PREFIX, AgentConfig
from stackferry.agent.errors import AgentError
from stackferry.agent.rpc.server import build_server
from stackferry.agent.service import AgentService
from stackferry.agent.wiring import build_service
from stackferry.common.config_loader import ConfigError
from stackferry.common.daemon import load_daemon_config, wait_for_termination, write_ready_file
from stackferry.common.logging import configure_logging
from stackferry.common.metrics import start_metrics_server

log = structlog.get_logger("stackferry.agent")
SHUTDOWN_GRACE_SECONDS = 1.0


def main(
    argv: list[str] | None = None,
    make_service: Callable[[AgentConfig], AgentService] = build_service,
) -> int:
    """``make_service`` lets the benchmark run the real agent over another storage sink."""
    try:
        config = load_daemon_config(
            AgentConfig,
            "stackferry-agent",
            "The stackferry agent: snapshots, zfs streams and compose stacks on this host.",
            ENV_PREFIX,
            argv,
        )
    except ConfigError as exc:
        print(f"stackferry-agent: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(config.log_format, config.log_level)
    start_metrics_server(config.metrics_listen)
    try:
        service = make_service(config)
        taken_down = service.cleanup.reconcile()
    except AgentError as exc:
        log.error("agent not started", error=str(exc))
        print(f"stackferry-agent: not started: {exc}", file=sys.stderr)
        return 1
    if taken_down:
        log.warning(
            "took down deploys of migrations that never committed",
            migrations=[d.migration_id for d in taken_down],
        )
    server, port = build_server(config, service)
    host = config.listen.rpartition(":")[0]
    log.info(
        "agent listening",
        address=f"{host}:{port}",
        tls=not config.insecure,
        mutual_tls=bool(config.tls_ca),
        storage=service.storage.name,
        storage_features=service.storage.features(),
        allowed_dataset_roots=list(config.allowed_dataset_roots),
        allowed_path_roots=list(config.allowed_path_roots),
        pid=os.getpid(),
    )
    if config.ready_file:
        write_ready_file(config.ready_file, f"{host}:{port}")
    wait_for_termination()
    log.info("agent stopping: cancelling in-flight streams")
    # Streams are not drained: cancelling them runs their callbacks, which kill zfs send /
    # receive and remove partial receives; a short grace lets unary calls finish.
    server.stop(grace=SHUTDOWN_GRACE_SECONDS).wait()
    ended = agent_exec.end_children()
    if ended:
        log.info("ended child processes", commands=[argv[:3] for argv in ended])
    log.info("agent stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
