"""`stackferry`: the command line, a thin client of the Controller gRPC API.

With --controller ADDR it talks to a running controller; without, it starts the controller
in-process on the embedded SQLite default (stackferry/controller/embedded.py) and talks to
that one over a unix socket, so one command does the whole job.

Exit codes: 0 success, 1 failed (or an error), 2 usage error, 3 rolled back, 4 cancelled,
5 controller or agent unavailable, 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import grpc
from rich.console import Console

from stackferry.api.controller.v1 import controller_pb2 as pb
from stackferry.api.controller.v1 import controller_pb2_grpc as pb_grpc
from stackferry.cli import certs_command
from stackferry.cli import output as out
from stackferry.common.config_loader import ConfigError
from stackferry.common.grpc_options import channel_credentials, open_channel
from stackferry.common.logging import configure_logging

if TYPE_CHECKING:  # the controller is imported only to run one embedded (see connect)
    from stackferry.controller.config import ControllerConfig

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_ROLLED_BACK = 3
EXIT_CANCELLED = 4
EXIT_UNAVAILABLE = 5
EXIT_INTERRUPTED = 130

EXIT_OF_STATE = {
    pb.COMPLETED: EXIT_OK,
    pb.FAILED: EXIT_FAILED,
    pb.ROLLED_BACK: EXIT_ROLLED_BACK,
    pb.CANCELLED: EXIT_CANCELLED,
}
EXIT_OF_CODE = {
    grpc.StatusCode.UNAVAILABLE: EXIT_UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED: EXIT_UNAVAILABLE,
    grpc.StatusCode.INVALID_ARGUMENT: EXIT_USAGE,
}
# Commands after which an embedded controller must keep driving migrations, so it also
# resumes the ones a previous, interrupted run left behind.
DRIVING_COMMANDS = frozenset({"migrate", "watch", "cancel"})
# Commands whose embedded controller may dial agents, so it needs --insecure or TLS files.
DIALING_COMMANDS = DRIVING_COMMANDS | {"plan", "validate", "agents"}
STATE_NAMES = [pb.MigrationState.Name(v).lower() for v in pb.MigrationState.values() if v]
SIZE_SUFFIXES = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}

Stub = pb_grpc.ControllerStub
Handler = Callable[[Stub, argparse.Namespace, Console], int]


class UsageError(Exception):
    """The command line is inconsistent in a way argparse cannot tell by itself."""


def parse_mapping(text: str) -> pb.PathMapping:
    source, sep, target = text.partition("=")
    if not sep or not source.startswith("/") or not target.startswith("/"):
        raise argparse.ArgumentTypeError(f"expected /SOURCE/PATH=/TARGET/PATH, got {text!r}")
    return pb.PathMapping(source=source, target=target)


def parse_rate(text: str) -> int:
    """Bytes per second, with an optional binary suffix: 500K, 20M, 1G (per second)."""
    match = re.fullmatch(r"(\d+)\s*([KMGT]?)(?:i?B)?(?:/s)?", text.strip(), re.IGNORECASE)
    if not match:
        raise argparse.ArgumentTypeError(
            f"expected a rate like 20M (bytes per second), got {text!r}"
        )
    return int(match.group(1)) * SIZE_SUFFIXES[match.group(2).upper()]


def _add_connection_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--controller",
        metavar="ADDR",
        default=os.environ.get("STACKFERRY_CONTROLLER"),
        help="HOST:PORT of a running controller (default: run one in this process)",
    )
    group.add_argument(
        "--insecure", action="store_true", help="plaintext gRPC (no TLS) to controller and agents"
    )
    group.add_argument("--tls-cert", metavar="FILE", help="client certificate (mutual TLS)")
    group.add_argument("--tls-key", metavar="FILE", help="key of --tls-cert")
    group.add_argument("--tls-ca", metavar="FILE", help="CA that signed the servers' certificates")
    group.add_argument(
        "--state-dir",
        metavar="DIR",
        help="embedded controller's state directory "
        "(default $STACKFERRY_STATE_DIR or ~/.local/state/stackferry)",
    )
    group.add_argument("-v", "--verbose", action="store_true", help="show the controller's log")


def _add_spec_flags(parser: argparse.ArgumentParser, required: bool) -> None:
    spec = parser.add_argument_group("migration")
    spec.add_argument("--from", dest="source", metavar="HOST:PORT", required=required)
    spec.add_argument("--to", dest="target", metavar="HOST:PORT", required=required)
    spec.add_argument(
        "--compose", metavar="PATH", required=required, help="compose file on the source host"
    )
    spec.add_argument(
        "--target-dataset",
        metavar="POOL/PARENT",
        required=required,
        help="the stack's datasets are received below this dataset",
    )
    spec.add_argument(
        "--target-base",
        metavar="PATH",
        required=required,
        help="the received datasets are mounted below this path",
    )
    spec.add_argument(
        "--target-compose-dir",
        metavar="PATH",
        default="",
        help="where compose file and .env go (default: their translated location)",
    )
    spec.add_argument(
        "--map",
        dest="maps",
        metavar="SRC=DST",
        type=parse_mapping,
        action="append",
        default=[],
        help="extra path mapping (repeatable)",
    )
    spec.add_argument("--name", default="", help="migration name (default: the project name)")
    spec.add_argument("--project-name", default="", help="compose project name to keep")
    spec.add_argument("--method", default="zfs_send", help="transfer method (default zfs_send)")
    spec.add_argument(
        "--keep-snapshots", action="store_true", help="keep the migration's snapshots"
    )
    spec.add_argument(
        "--verify-timeout",
        type=int,
        default=0,
        metavar="SECONDS",
        help="how long the target may take to run / be healthy",
    )
    spec.add_argument(
        "--bwlimit", type=parse_rate, default=0, metavar="RATE", help="e.g. 20M (bytes/s)"
    )


def spec_from_args(args: argparse.Namespace) -> pb.MigrationSpec:
    missing = [
        flag
        for flag, value in (
            ("--from", args.source),
            ("--to", args.target),
            ("--compose", args.compose),
            ("--target-dataset", args.target_dataset),
            ("--target-base", args.target_base),
        )
        if not value
    ]
    if missing:
        raise UsageError(f"give a migration id or these flags: {', '.join(missing)}")
    if not os.path.isabs(args.compose):
        raise UsageError(f"--compose must be an absolute path on the source host: {args.compose}")
    name = args.name or args.project_name or os.path.basename(os.path.dirname(args.compose))
    return pb.MigrationSpec(
        name=name,
        compose_path=args.compose,
        source_agent=args.source,
        target_agent=args.target,
        target_dataset=args.target_dataset,
        target_base=args.target_base,
        target_compose_dir=args.target_compose_dir,
        transfer_method=args.method,
        project_name=args.project_name,
        options=pb.MigrationOptions(
            keep_snapshots=args.keep_snapshots,
            verify_timeout_seconds=args.verify_timeout,
            bandwidth_limit_bytes_per_second=args.bwlimit,
            path_maps=args.maps,
        ),
    )


def target_from_args(args: argparse.Namespace) -> pb.MigrationTarget:
    if args.id:
        return pb.MigrationTarget(id=args.id)
    return pb.MigrationTarget(spec=spec_from_args(args))


def follow(stub: Stub, migration_id: str, console: Console) -> pb.Migration:
    """Shows progress until the migration ends; returns it in its terminal state."""
    ref = pb.MigrationRef(id=migration_id)
    with out.LiveProgress(console) as live:
        for event in stub.WatchMigration(ref):
            live.update(stub.GetMigration(ref), event.status)
        final = stub.GetMigration(ref)
        live.update(final, stub.GetMigrationStatus(ref))
    return final


def _final_exit(migration: pb.Migration, console: Console) -> int:
    if migration.state not in out.TERMINAL_STATES:
        console.print(
            f"the controller stopped following migration {migration.id} "
            f"({out.state_name(migration.state)}); it resumes when the controller runs again: "
            f"stackferry watch {migration.id}"
        )
        return EXIT_UNAVAILABLE
    return EXIT_OF_STATE[migration.state]


def cmd_migrate(stub: Stub, args: argparse.Namespace, console: Console) -> int:
    spec = spec_from_args(args)
    migration = stub.CreateMigration(pb.CreateMigrationRequest(spec=spec, start=True))
    if args.detach:
        print(out.to_json(migration) if args.json else migration.id)
        return EXIT_OK
    if args.json:
        for _ in stub.WatchMigration(pb.MigrationRef(id=migration.id)):
            pass
        final = stub.GetMigration(pb.MigrationRef(id=migration.id))
        print(out.to_json(final))
        return _final_exit(final, Console(stderr=True))
    console.print(
        f"migration [bold]{migration.id}[/]: {spec.compose_path} "
        f"from {spec.source_agent} to {spec.target_agent}"
    )
    final = follow(stub, migration.id, console)
    out.print_summary(console, final)
    return _final_exit(final, console)


def cmd_watch(stub: Stub, args: argparse.Namespace, console: Console) -> int:
    ref = pb.MigrationRef(id=args.id)
    if args.json:
        for event in stub.WatchMigration(ref):
            print(json.dumps(out.message_dict(event)), flush=True)
        final = stub.GetMigration(ref)
    else:
        final = follow(stub, args.id, console)
        out.print_summary(console, final)
    return _final_exit(final, Console(stderr=True) if args.json else console)


def cmd_plan(stub: Stub, args: argparse.Namespace, console: Console) -> int:
    plan = stub.PlanMigration(target_from_args(args))
    if args.json:
        print(out.to_json(plan))
    else:
        out.print_plan(console, plan)
    return EXIT_OK


def cmd_validate(stub: Stub, args: argparse.Namespace, console: Console) -> int:
    report = stub.ValidateMigration(target_from_args(args))
    if args.json:
        print(out.to_json(report))
    else:
        out.print_report(console, report)
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_status(stub: Stub, args: argparse.Namespace, console: Console) -> int:
    ref = pb.MigrationRef(id=args.id)
    status = stub.GetMigrationStatus(ref)
    if args.json:
        print(out.to_json(status))
        return EXIT_OK
    migration = stub.GetMigration(ref)
    out.print_migration(console, migration)
    if migration.state not in out.TERMINAL_STATES:
        out.print_status(console, status)
    return EXIT_OK


def cmd_list(stub: Stub, args: argparse.Namespace, console: Console) -> int:
    states = [s.upper() for s in args.state]
    migrations: list[pb.Migration] = []
    token = ""
    while len(migrations) < args.limit:
        page = stub.ListMigrations(
            pb.ListMigrationsRequest(
                states=states, page_size=min(100, args.limit - len(migrations)), page_token=token
            )
        )
        migrations.extend(page.migrations)
        token = page.next_page_token
        if not token:
            break
    if args.json:
        print(json.dumps([out.message_dict(m) for m in migrations], indent=2))
    else:
        out.print_list(console, migrations)
    return EXIT_OK


def cmd_cancel(stub: Stub, args: argparse.Namespace, console: Console) -> int:
    migration = stub.CancelMigration(pb.MigrationRef(id=args.id))
    if args.no_wait:
        console.print(f"migration {migration.id}: {out.state_name(migration.state)}")
        return EXIT_OK
    final = follow(stub, args.id, console)
    out.print_summary(console, final)
    return EXIT_OK if final.state == pb.CANCELLED else _final_exit(final, console)


def cmd_delete(stub: Stub, args: argparse.Namespace, console: Console) -> int:
    stub.DeleteMigration(pb.MigrationRef(id=args.id))
    console.print(f"migration {args.id} deleted")
    return EXIT_OK


def cmd_agents_ping(stub: Stub, args: argparse.Namespace, console: Console) -> int:
    reply = stub.PingAgent(pb.PingAgentRequest(address=args.address))
    if args.json:
        print(out.to_json(reply))
    else:
        out.print_ping(console, args.address, reply)
    return EXIT_OK if reply.reachable else EXIT_UNAVAILABLE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stackferry",
        description="Move a running Docker Compose stack and its ZFS data to another host.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str, handler: Handler, help_text: str, json_flag: bool = True
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        _add_connection_flags(sub)
        if json_flag:
            sub.add_argument("--json", action="store_true", help="print JSON instead of text")
        sub.set_defaults(handler=handler)
        return sub

    migrate = command("migrate", cmd_migrate, "migrate a stack, showing live progress")
    _add_spec_flags(migrate, required=True)
    migrate.add_argument(
        "--detach", action="store_true", help="print the id and return once it started"
    )
    for name, handler, help_text in (
        ("plan", cmd_plan, "dry run: datasets, sizes, path map and the translated compose diff"),
        ("validate", cmd_validate, "check every prerequisite of a migration"),
    ):
        sub = command(name, handler, help_text)
        sub.add_argument("id", nargs="?", default="", help="a stored migration (else the flags)")
        _add_spec_flags(sub, required=False)
    for name, handler, help_text in (
        ("status", cmd_status, "state, progress and steps of a migration"),
        ("watch", cmd_watch, "follow a migration until it ends"),
    ):
        command(name, handler, help_text).add_argument("id")
    listing = command("list", cmd_list, "list migrations, newest first")
    listing.add_argument(
        "--state",
        action="append",
        default=[],
        choices=STATE_NAMES,
        help="only migrations in this state (repeatable)",
    )
    listing.add_argument("--limit", type=int, default=50)
    cancel = command("cancel", cmd_cancel, "cancel a migration, undoing what it did", False)
    cancel.add_argument("id")
    cancel.add_argument("--no-wait", action="store_true", help="return before the undo ended")
    command("delete", cmd_delete, "delete an ended migration's record", False).add_argument("id")
    agents = commands.add_parser("agents", help="talk to agents").add_subparsers(
        dest="agents_command", required=True, metavar="ACTION"
    )
    ping = agents.add_parser("ping", help="check that the controller reaches an agent")
    _add_connection_flags(ping)
    ping.add_argument("--json", action="store_true", help="print JSON instead of text")
    ping.add_argument("address", metavar="HOST:PORT")
    ping.set_defaults(handler=cmd_agents_ping)
    certs_command.add_parser(commands)
    return parser


def embedded_config(args: argparse.Namespace) -> ControllerConfig:
    from stackferry.controller.config import ControllerConfig

    if args.command in DIALING_COMMANDS and not (args.insecure or args.tls_cert):
        raise UsageError("give --insecure or --tls-cert/--tls-key/--tls-ca to reach the agents")
    tls = bool(args.tls_cert)
    return ControllerConfig(
        state_dir=args.state_dir or "",
        insecure=not tls,
        tls_cert=args.tls_cert if tls else None,
        tls_key=args.tls_key if tls else None,
        tls_ca=args.tls_ca if tls else None,
        log_level="info" if args.verbose else "warning",
    )


@contextlib.contextmanager
def connect(args: argparse.Namespace) -> Iterator[Stub]:
    """A stub for the controller at --controller, or for a controller started right here."""
    if args.controller:
        credentials = None
        if not args.insecure:
            credentials = channel_credentials(args.tls_ca, args.tls_cert, args.tls_key)
        with open_channel(args.controller, credentials) as channel:
            yield pb_grpc.ControllerStub(channel)
        return
    from stackferry.controller.embedded import EmbeddedController

    if getattr(args, "detach", False):
        raise UsageError(
            "--detach needs --controller: an embedded controller stops with the command"
        )
    config = embedded_config(args)
    configure_logging("console", config.log_level, stream=sys.stderr)
    with (
        EmbeddedController(config, resume=args.command in DRIVING_COMMANDS) as embedded,
        open_channel(embedded.address) as channel,
    ):
        yield pb_grpc.ControllerStub(channel)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "certs":
        return certs_command.run(args)
    console = Console(highlight=False, soft_wrap=not sys.stdout.isatty())
    errors = Console(stderr=True, highlight=False)
    try:
        with connect(args) as stub:
            return int(args.handler(stub, args, console))
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        errors.print(f"stackferry: error: {exc}")
        return EXIT_USAGE
    except ConfigError as exc:
        errors.print(f"stackferry: configuration error: {exc}")
        return EXIT_USAGE
    except grpc.RpcError as exc:
        code = exc.code()  # type: ignore[attr-defined]
        errors.print(f"stackferry: {code.name.lower()}: {exc.details()}", soft_wrap=True)  # type: ignore[attr-defined]
        return EXIT_OF_CODE.get(code, EXIT_FAILED)
    except KeyboardInterrupt:
        errors.print("stackferry: interrupted; the migration goes on or resumes later")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
