"""stackferry-controller: config -> logging -> store -> service -> resume -> serve (gRPC, and
HTTP when http_listen is set), until SIGTERM / SIGINT."""

from __future__ import annotations

import os
import sys

import structlog

from stackferry.common.config_loader import ConfigError
from stackferry.common.daemon import load_daemon_config, wait_for_termination, write_ready_file
from stackferry.common.logging import configure_logging
from stackferry.common.metrics import start_metrics_server
from stackferry.controller.config import ENV_PREFIX, ControllerConfig
from stackferry.controller.http.server import HttpServer
from stackferry.controller.server import ControllerServer
from stackferry.controller.wiring import build_service

log = structlog.get_logger("stackferry.controller")


def main(argv: list[str] | None = None) -> int:
    try:
        config = load_daemon_config(
            ControllerConfig,
            "stackferry-controller",
            "The stackferry controller: drives migrations of stacks between agents.",
            ENV_PREFIX,
            argv,
        )
    except ConfigError as exc:
        print(f"stackferry-controller: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(config.log_format, config.log_level)
    metrics = start_metrics_server(config.metrics_listen)
    if metrics is not None:
        log.info("metrics served", address=config.metrics_listen, port=metrics[1])
    service = build_service(config)
    service.resume_all()
    server = ControllerServer(config, service)
    log.info(
        "controller listening",
        address=server.address,
        tls=not config.insecure,
        mutual_tls=bool(config.tls_ca),
        db=config.resolved_db_url.split("@")[-1],
        owner=service.owner_id,
        pid=os.getpid(),
    )
    try:
        http = HttpServer(config, service) if config.http_listen is not None else None
    except (OSError, ValueError) as exc:  # port taken, token file missing or empty
        print(f"stackferry-controller: http_listen {config.http_listen}: {exc}", file=sys.stderr)
        server.stop()
        service.shutdown()
        return 2
    if http is not None:
        log.info("http api listening", url=http.url, token=bool(config.http_token_file))
    if config.ready_file:
        write_ready_file(config.ready_file, server.address)
    wait_for_termination()
    log.info("controller stopping: no new calls, drivers pause where they can resume")
    if http is not None:
        http.stop()
    server.stop()
    service.shutdown()
    log.info("controller stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
