"""stackferry-agent: config -> logging -> service -> serve, until SIGTERM / SIGINT."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path

import structlog

from agent.config import ENV_PREFIX, AgentConfig
from agent.rpc.server import build_server
from agent.service import AgentService, build_service
from common.config_loader import ConfigError, load_config
from common.logging import configure_logging
from common.metrics import start_metrics_server

log = structlog.get_logger("stackferry.agent")
SHUTDOWN_GRACE_SECONDS = 1.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="stackferry-agent",
        description="The stackferry agent: snapshots, zfs streams and compose stacks on this host.",
    )
    parser.add_argument("--config", help="YAML config file (e.g. /etc/stackferry/agent.yaml)")
    for f in fields(AgentConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.type in (bool, "bool"):
            parser.add_argument(flag, dest=f.name, action="store_const", const=True, default=None)
        elif "tuple" in str(f.type):
            singular = flag[:-1] if flag.endswith("s") else flag
            parser.add_argument(
                singular, dest=f.name, action="append", default=None, help="repeatable"
            )
        else:
            parser.add_argument(flag, dest=f.name, default=None)
    return parser.parse_args(argv)


def main(
    argv: list[str] | None = None,
    make_service: Callable[[AgentConfig], AgentService] = build_service,
) -> int:
    """``make_service`` lets the benchmark run the real agent over another storage sink."""
    args = parse_args(argv)
    overrides = {k: v for k, v in vars(args).items() if k != "config" and v is not None}
    try:
        config = load_config(AgentConfig, args.config, overrides, ENV_PREFIX)
    except ConfigError as exc:
        print(f"stackferry-agent: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(config.log_format, config.log_level)
    start_metrics_server(config.metrics_listen)
    service = make_service(config)
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
        tmp = Path(config.ready_file + ".tmp")
        tmp.write_text(f"{host}:{port}\n")
        tmp.rename(config.ready_file)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    log.info("agent stopping: cancelling in-flight streams")
    # Streams are not drained: cancelling them runs their callbacks, which kill zfs send /
    # receive and remove partial receives; a short grace lets unary calls finish.
    server.stop(grace=SHUTDOWN_GRACE_SECONDS).wait()
    log.info("agent stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
