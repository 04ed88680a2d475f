"""stackferry-controller: config -> logging -> store -> service -> resume -> serve, until
SIGTERM / SIGINT."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from dataclasses import fields
from pathlib import Path

import structlog

from common.config_loader import ConfigError, load_config
from common.logging import configure_logging
from common.metrics import start_metrics_server
from controller.config import ENV_PREFIX, ControllerConfig
from controller.server import ControllerServer
from controller.wiring import build_service

log = structlog.get_logger("stackferry.controller")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="stackferry-controller",
        description="The stackferry controller: drives migrations of stacks between agents.",
    )
    parser.add_argument("--config", help="YAML config file (e.g. /etc/stackferry/controller.yaml)")
    for f in fields(ControllerConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.type in (bool, "bool"):
            parser.add_argument(flag, dest=f.name, action="store_const", const=True, default=None)
        else:
            parser.add_argument(flag, dest=f.name, default=None)
    return parser.parse_args(argv)


def write_ready_file(path: str, address: str) -> None:
    """Written atomically once the server answers, so a waiting script never reads half of it."""
    tmp = Path(path + ".tmp")
    tmp.write_text(f"{address}\n")
    tmp.rename(path)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    overrides = {k: v for k, v in vars(args).items() if k != "config" and v is not None}
    try:
        config = load_config(ControllerConfig, args.config, overrides, ENV_PREFIX)
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
    if config.ready_file:
        write_ready_file(config.ready_file, server.address)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    log.info("controller stopping: no new calls, drivers pause where they can resume")
    server.stop()
    service.shutdown()
    log.info("controller stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
