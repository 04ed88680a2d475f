"""What both daemons (stackferry-agent, stackferry-controller) do around their servers:
configuration from file + environment + flags, the ready file, waiting for SIGTERM."""

from __future__ import annotations

import argparse
import signal
import threading
from dataclasses import fields
from pathlib import Path
from typing import TypeVar

from stackferry.common.config_loader import load_config

T = TypeVar("T")


def load_daemon_config(
    cls: type[T], prog: str, description: str, env_prefix: str, argv: list[str] | None
) -> T:
    """Parses ``--config FILE`` plus one flag per config field (``--allowed-dataset-root``
    repeatable for tuple fields) and loads ``cls``; raises ConfigError naming the key."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument(
        "--config", help=f"YAML config file (e.g. /etc/stackferry/{prog[11:]}.yaml)"
    )
    for f in fields(cls):  # type: ignore[arg-type]
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
    args = parser.parse_args(argv)
    overrides = {k: v for k, v in vars(args).items() if k != "config" and v is not None}
    return load_config(cls, args.config, overrides, env_prefix)


def write_ready_file(path: str, address: str) -> None:
    """Written atomically once the server answers, so a waiting script never reads half of it."""
    tmp = Path(path + ".tmp")
    tmp.write_text(f"{address}\n")
    tmp.rename(path)


def wait_for_termination() -> None:
    """Blocks until SIGTERM or SIGINT."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
