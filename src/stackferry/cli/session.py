"""How a command reaches a controller: the one at --controller, or one started in this process.

An embedded controller takes up the migrations an interrupted CLI left in its state directory
(the source may be stopped), says so on stderr, and the command does not return while it still
drives them. It dials the agents with the credentials of this command, or, when none are given
(`stackferry list`), with those the last command that dialed from this state directory used:
they are remembered in `<state_dir>/agent-credentials.json` (paths and the insecure flag, never
key material). With none at all, nothing is resumed: the command names `stackferry resume`.
Commands that dial by their nature (migrate, watch, resume, ...) still need the flags.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from stackferry.api.controller.v1 import controller_pb2 as pb
from stackferry.api.controller.v1 import controller_pb2_grpc as pb_grpc
from stackferry.cli import output as out
from stackferry.common.grpc_options import channel_credentials, open_channel
from stackferry.common.logging import configure_logging

if TYPE_CHECKING:  # the controller is imported only to run one embedded (see connect)
    from stackferry.controller.config import ControllerConfig
    from stackferry.controller.domain.model import Migration
    from stackferry.controller.embedded import EmbeddedController, StackKey

CREDENTIALS_FILE = "agent-credentials.json"
# Commands whose embedded controller dials agents by their nature, so they need credentials.
DIALING_COMMANDS = frozenset({"migrate", "watch", "cancel", "resume", "plan", "validate", "agents"})
# Commands that only read: they print once the resumed migrations have ended, so what they
# show is how things stand when the command returns.
READING_COMMANDS = frozenset({"status", "list"})

Stub = pb_grpc.ControllerStub


class UsageError(Exception):
    """The command line is inconsistent in a way argparse cannot tell by itself."""


@dataclass
class Session:
    stub: Stub
    embedded: EmbeddedController | None = None


def connection_flags(args: argparse.Namespace) -> str:
    """The flags that reach the same controller with the same credentials again."""
    flags = []
    if args.controller:
        flags.append(f"--controller {args.controller}")
    if args.state_dir:
        flags.append(f"--state-dir {args.state_dir}")
    if args.insecure:
        flags.append("--insecure")
    for flag, value in (("--tls-cert", args.tls_cert), ("--tls-key", args.tls_key)):
        if value:
            flags.append(f"{flag} {value}")
    if args.tls_ca:
        flags.append(f"--tls-ca {args.tls_ca}")
    return " ".join(flags)


def resume_command(migration_id: str, args: argparse.Namespace) -> str:
    return " ".join(filter(None, ("stackferry resume", migration_id, connection_flags(args))))


def _remembered(state_dir: str) -> dict[str, str | bool] | None:
    try:
        found = json.loads((Path(state_dir) / CREDENTIALS_FILE).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return found if isinstance(found, dict) else None


def _remember(state_dir: str, credentials: dict[str, str | bool]) -> None:
    path = Path(state_dir) / CREDENTIALS_FILE
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(json.dumps(credentials))


def embedded_config(args: argparse.Namespace) -> tuple[ControllerConfig, bool]:
    """The embedded controller's config, and whether it may resume (it knows how to dial)."""
    from stackferry.controller.config import ControllerConfig, default_state_dir

    state_dir = args.state_dir or default_state_dir()
    credentials: dict[str, str | bool] | None = None
    if args.tls_cert:
        credentials = {"tls_cert": args.tls_cert, "tls_key": args.tls_key, "tls_ca": args.tls_ca}
    elif args.insecure:
        credentials = {"insecure": True}
    if credentials is None and args.command in DIALING_COMMANDS:
        raise UsageError("give --insecure or --tls-cert/--tls-key/--tls-ca to reach the agents")
    if credentials is not None:
        _remember(state_dir, credentials)
    else:
        credentials = _remembered(state_dir)
    tls = credentials or {}
    config = ControllerConfig(
        state_dir=state_dir,
        insecure=not tls.get("tls_cert"),
        tls_cert=str(tls["tls_cert"]) if tls.get("tls_cert") else None,
        tls_key=str(tls["tls_key"]) if tls.get("tls_cert") else None,
        tls_ca=str(tls["tls_ca"]) if tls.get("tls_cert") and tls.get("tls_ca") else None,
        log_level="info" if args.verbose else "warning",
    )
    if args.retry_window is not None:
        config = dataclasses.replace(config, retry_window_seconds=args.retry_window)
    return config, credentials is not None


@contextlib.contextmanager
def connect(
    args: argparse.Namespace, errors: Console, skip_stack: StackKey | None = None
) -> Iterator[Session]:
    """A session with the controller at --controller, or with one started right here."""
    if args.controller:
        credentials = None
        if not args.insecure:
            credentials = channel_credentials(args.tls_ca, args.tls_cert, args.tls_key)
        with open_channel(args.controller, credentials) as channel:
            yield Session(pb_grpc.ControllerStub(channel))
        return
    from stackferry.controller.embedded import EmbeddedController

    if getattr(args, "detach", False):
        raise UsageError(
            "--detach needs --controller: an embedded controller stops with the command"
        )
    config, can_dial = embedded_config(args)
    configure_logging("console", config.log_level, stream=sys.stderr)

    def announce(migration: Migration) -> None:
        errors.print(
            f"resuming migration {migration.id} (interrupted in {migration.state.value.upper()})"
        )

    embedded = EmbeddedController(
        config,
        resume=can_dial,
        keep_taking_over=can_dial,
        on_resume=announce,
        skip_stack=skip_stack,
    )
    with embedded, open_channel(embedded.address) as channel:
        session = Session(pb_grpc.ControllerStub(channel), embedded)
        if not can_dial:
            _name_interrupted(session, args, errors)
        yield session


def _name_interrupted(session: Session, args: argparse.Namespace, errors: Console) -> None:
    """Without credentials nothing is resumed; say what to run for each interrupted one."""
    assert session.embedded is not None
    for migration in session.embedded.interrupted():
        errors.print(
            f"migration {migration.id} was interrupted in {migration.state.value.upper()} "
            f"and is not driven; resume it with: {resume_command(migration.id, args)} "
            "--insecure (or --tls-cert/--tls-key/--tls-ca)"
        )


def follow(stub: Stub, migration_id: str, console: Console) -> pb.Migration:
    """Shows progress until the migration ends; returns it in its terminal state."""
    ref = pb.MigrationRef(id=migration_id)
    with out.LiveProgress(console) as live:
        for event in stub.WatchMigration(ref):
            live.update(stub.GetMigration(ref), event.status)
        final = stub.GetMigration(ref)
        live.update(final, stub.GetMigrationStatus(ref))
    return final


def finish_resumed(session: Session, errors: Console) -> None:
    """Follows, on stderr, every migration this embedded controller took up, to its end: the
    command must not return (and stop its controller) while one is driven."""
    if session.embedded is None:
        return
    while driving := session.embedded.driving():
        for migration_id in driving:
            errors.print(f"driving migration {migration_id} to its end before exiting")
            out.print_summary(errors, follow(session.stub, migration_id, errors))
