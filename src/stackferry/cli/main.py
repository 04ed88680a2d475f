"""`stackferry`: the command line, a thin client of the Controller gRPC API.

With --controller ADDR it talks to a running controller; without, it starts the controller
in-process on the embedded SQLite default (stackferry/controller/embedded.py) and talks to
that one over a unix socket, so one command does the whole job (cli/session.py: also how an
interrupted migration is taken up by the next command).

Exit codes: 0 success, 1 failed (or an error), 2 usage error, 3 rolled back, 4 cancelled,
5 controller or agent unavailable, 6 needs attention (the rollback could not tell whether the
target runs the stack: check it, then `stackferry resume ID`), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable

import grpc
from rich.console import Console

from stackferry.api.controller.v1 import controller_pb2 as pb
from stackferry.cli import certs_command
from stackferry.cli import output as out
from stackferry.cli.session import (
    READING_COMMANDS,
    Session,
    Stub,
    UsageError,
    connect,
    finish_resumed,
    follow,
    resume_command,
)
from stackferry.common.config_loader import ConfigError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_ROLLED_BACK = 3
EXIT_CANCELLED = 4
EXIT_UNAVAILABLE = 5
EXIT_NEEDS_ATTENTION = 6
EXIT_INTERRUPTED = 130

EXIT_OF_STATE = {
    pb.COMPLETED: EXIT_OK,
    pb.FAILED: EXIT_FAILED,
    pb.ROLLED_BACK: EXIT_ROLLED_BACK,
    pb.CANCELLED: EXIT_CANCELLED,
    pb.NEEDS_ATTENTION: EXIT_NEEDS_ATTENTION,
}
EXIT_OF_CODE = {
    grpc.StatusCode.UNAVAILABLE: EXIT_UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED: EXIT_UNAVAILABLE,
    grpc.StatusCode.INVALID_ARGUMENT: EXIT_USAGE,
}
STATE_NAMES = [pb.MigrationState.Name(v).lower() for v in pb.MigrationState.values() if v]
# Ended for good; every other state holds its stack (NEEDS_ATTENTION too, until resumed).
ENDED_NAMES = frozenset({"COMPLETED", "ROLLED_BACK", "CANCELLED", "FAILED"})
SIZE_SUFFIXES = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}

Handler = Callable[[Stub, argparse.Namespace, Console], int]


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
    group.add_argument(
        "--retry-window",
        type=float,
        metavar="SECONDS",
        help="embedded controller: how long an unreachable agent is tried again (default 90)",
    )
    group.add_argument("-v", "--verbose", action="store_true", help="show the controller's log")


def _add_spec_flags(parser: argparse.ArgumentParser, required: bool) -> None:
    spec = parser.add_argument_group("migration")
    spec.add_argument("--from", dest="source", metavar="HOST:PORT", required=required)
    spec.add_argument("--to", dest="target", metavar="HOST:PORT", required=required)
    spec.add_argument(
        "--compose",
        metavar="PATH",
        action="append",
        default=[],
        help="compose file on the source host; repeatable, in order, as -f is (default with "
        "--project: the files its running containers were started with)",
    )
    spec.add_argument(
        "--env-file",
        dest="env_files",
        metavar="PATH",
        action="append",
        default=[],
        help="compose's --env-file on the source host (repeatable; default: the one the "
        "containers' labels name, else the .env beside the first compose file)",
    )
    spec.add_argument(
        "--target-dataset",
        metavar="POOL/PARENT",
        default="",
        help="the stack's datasets are received below this dataset (needed when datasets move)",
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
    spec.add_argument(
        "--project",
        "--project-name",
        dest="project_name",
        default="",
        help="compose project name to keep (without --compose: the running project to move)",
    )
    spec.add_argument("--method", default="zfs_send", help="transfer method (default zfs_send)")
    spec.add_argument(
        "--keep-snapshots", action="store_true", help="keep the migration's snapshots"
    )
    spec.add_argument(
        "--keep-target-on-failure",
        action="store_true",
        help="after a rollback, leave what was received on the target (for inspection)",
    )
    spec.add_argument(
        "--exclude",
        dest="excludes",
        metavar="NAME|PATH",
        action="append",
        default=[],
        help="leave this mount's data behind: a volume name, a host path or SERVICE:PATH "
        "(repeatable; shown in the plan and the record)",
    )
    spec.add_argument(
        "--allow-overwrite",
        action="store_true",
        help="sync into a non-empty volume or directory of the same name on the target",
    )
    spec.add_argument(
        "--verify-timeout",
        type=int,
        default=0,
        metavar="SECONDS",
        help="how long the target may take to run / be healthy",
    )
    spec.add_argument(
        "--stop-timeout",
        type=int,
        default=0,
        metavar="SECONDS",
        help="seconds every service gets to stop before SIGKILL "
        "(default: each service's stop_grace_period, 10 s without one)",
    )
    spec.add_argument(
        "--bwlimit", type=parse_rate, default=0, metavar="RATE", help="e.g. 20M (bytes/s)"
    )
    spec.add_argument(
        "--compress",
        choices=("none", "lz4", "zstd", "auto"),
        default="none",
        help="wire compression of the zfs and image streams (auto: zstd where it gains)",
    )
    spec.add_argument(
        "--converge-rounds",
        type=int,
        default=None,
        metavar="N",
        help="incremental passes before the stop, at most (default 5; 0: none)",
    )
    spec.add_argument(
        "--converge-target",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="stop converging once the last delta takes less than this (default 1)",
    )
    spec.add_argument(
        "--final-parallelism",
        type=int,
        default=0,
        metavar="N",
        help="datasets sent at once after the stop (default 4)",
    )


def spec_from_args(args: argparse.Namespace) -> pb.MigrationSpec:
    missing = [
        flag
        for flag, value in (
            ("--from", args.source),
            ("--to", args.target),
            ("--compose (or --project)", args.compose or args.project_name),
            ("--target-base", args.target_base),
        )
        if not value
    ]
    if missing:
        raise UsageError(f"give a migration id or these flags: {', '.join(missing)}")
    for flag, path in [("--compose", p) for p in args.compose] + [
        ("--env-file", p) for p in args.env_files
    ]:
        if not os.path.isabs(path):
            raise UsageError(f"{flag} must be an absolute path on the source host: {path}")
    compose_path = args.compose[0] if args.compose else ""
    name = args.name or args.project_name or os.path.basename(os.path.dirname(compose_path))
    return pb.MigrationSpec(
        name=name,
        compose_path=compose_path,
        compose_files=args.compose if len(args.compose) > 1 else [],
        env_files=args.env_files,
        source_agent=args.source,
        target_agent=args.target,
        target_dataset=args.target_dataset,
        target_base=args.target_base,
        target_compose_dir=args.target_compose_dir,
        transfer_method=args.method,
        project_name=args.project_name,
        options=pb.MigrationOptions(
            keep_snapshots=args.keep_snapshots,
            keep_target_on_failure=args.keep_target_on_failure,
            verify_timeout_seconds=args.verify_timeout,
            bandwidth_limit_bytes_per_second=args.bwlimit,
            path_maps=args.maps,
            excludes=args.excludes,
            allow_overwrite=args.allow_overwrite,
            stop_timeout_seconds=args.stop_timeout,
            compression=args.compress,
            converge_max_rounds=args.converge_rounds,
            converge_target_seconds=args.converge_target,
            final_parallelism=args.final_parallelism,
        ),
    )


def target_from_args(args: argparse.Namespace) -> pb.MigrationTarget:
    if args.id:
        return pb.MigrationTarget(id=args.id)
    return pb.MigrationTarget(spec=spec_from_args(args))


def _final_exit(migration: pb.Migration, console: Console) -> int:
    if migration.state not in EXIT_OF_STATE:
        console.print(
            f"the controller stopped following migration {migration.id} "
            f"({out.state_name(migration.state)}); it resumes when the controller runs again: "
            f"stackferry watch {migration.id}"
        )
        return EXIT_UNAVAILABLE
    return EXIT_OF_STATE[migration.state]


def unfinished_of_stack(stub: Stub, spec: pb.MigrationSpec) -> pb.Migration | None:
    """The migration of the same stack (source agent + compose file) that has not ended."""
    running = [s.upper() for s in STATE_NAMES if s.upper() not in ENDED_NAMES]
    page = stub.ListMigrations(pb.ListMigrationsRequest(states=running))
    for migration in page.migrations:
        if (migration.spec.source_agent, out.stack_of(migration.spec)) == (
            spec.source_agent,
            out.stack_of(spec),
        ):
            return migration
    return None


def cmd_migrate(stub: Stub, args: argparse.Namespace, console: Console) -> int:
    spec = spec_from_args(args)
    try:
        migration = stub.CreateMigration(pb.CreateMigrationRequest(spec=spec, start=True))
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.ALREADY_EXISTS:  # type: ignore[attr-defined]
            raise
        first = unfinished_of_stack(stub, spec)
        if first is None:
            raise
        # Nothing is created or driven: the flags may differ from the first migration's, and
        # which of the two the operator meant is theirs to say.
        Console(stderr=True, highlight=False).print(
            f"stackferry: {out.stack_of(spec)} on {spec.source_agent} is already being migrated "
            f"by {first.id} ({out.state_name(first.state)}); nothing was changed. "
            f"Resume that one with: {resume_command(first.id, args)}",
            soft_wrap=True,
        )
        return EXIT_FAILED
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
        f"migration [bold]{migration.id}[/]: {out.stack_of(spec)} "
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


def cmd_resume(stub: Stub, args: argparse.Namespace, console: Console) -> int:
    ref = pb.MigrationRef(id=args.id)
    try:
        migration = stub.ResumeMigration(ref)
        console.print(f"migration {migration.id}: driven here ({out.state_name(migration.state)})")
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.ABORTED:  # type: ignore[attr-defined]
            raise
        console.print(f"{exc.details()}: following it")  # type: ignore[attr-defined]
    final = follow(stub, args.id, console)
    out.print_summary(console, final)
    return _final_exit(final, console)


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
        (
            "resume",
            cmd_resume,
            "drive an interrupted migration here (after NEEDS_ATTENTION: retry "
            "its rollback once the target was checked), else follow it",
        ),
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


def _stack_of(args: argparse.Namespace) -> tuple[str, str] | None:
    """The stack a `migrate` moves: its embedded controller leaves that stack's unfinished
    migration alone (see cmd_migrate)."""
    if args.command != "migrate" or not (args.source and (args.compose or args.project_name)):
        return None
    return args.source, args.compose[0] if args.compose else f"project {args.project_name}"


def _run(session: Session, args: argparse.Namespace, console: Console, errors: Console) -> int:
    if args.command in READING_COMMANDS:
        finish_resumed(session, errors)  # then print how things stand as the command returns
    code = int(args.handler(session.stub, args, console))
    finish_resumed(session, errors)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "certs":
        return certs_command.run(args)
    console = Console(highlight=False, soft_wrap=not sys.stdout.isatty())
    errors = Console(stderr=True, highlight=False)
    try:
        with connect(args, errors, skip_stack=_stack_of(args)) as session:
            return _run(session, args, console, errors)
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
