"""How the `stackferry` CLI shows API replies: rich tables, diffs, live progress, or JSON.

Works only on protobuf messages of the Controller API: the CLI is a client of that API.
"""

from __future__ import annotations

import json
import time
from typing import Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TaskProgressColumn,
    TextColumn,
)
from rich.syntax import Syntax
from rich.table import Table

from stackferry.api.controller.v1 import controller_pb2 as pb

# Where following a migration stops: it ended, or NEEDS_ATTENTION waits for a person.
TERMINAL_STATES = frozenset(
    {pb.COMPLETED, pb.ROLLED_BACK, pb.CANCELLED, pb.FAILED, pb.NEEDS_ATTENTION}
)
PLAIN_INTERVAL = 2.0  # seconds between progress lines when stdout is not a terminal


def to_json(message: Message) -> str:
    return json.dumps(message_dict(message), indent=2)


def message_dict(message: Message) -> dict[str, Any]:
    return MessageToDict(
        message,
        preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True,
        unquote_int64_if_possible=True,
    )


def state_name(state: int) -> str:
    return pb.MigrationState.Name(state).lower()  # type: ignore[arg-type]


def human_bytes(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(count) < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


def human_seconds(seconds: float) -> str:
    if seconds < 0:
        return "unknown"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _when(unix: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(unix)) if unix else "-"


def _step_duration(step: pb.Step) -> str:
    if not step.started_unix:
        return ""
    end = step.ended_unix or time.time()
    return human_seconds(end - step.started_unix)


def print_migration(console: Console, migration: pb.Migration) -> None:
    from stackferry.cli.downtime_output import breakdown_lines, moved_text, rounds_text

    spec = migration.spec
    table = Table.grid(padding=(0, 2))
    for label, value in (
        ("id", migration.id),
        ("name", spec.name),
        ("state", state_name(migration.state)),
        ("project", migration.project_name or spec.project_name or "-"),
        ("from", f"{spec.source_agent}  {stack_of(spec)}"),
        ("to", f"{spec.target_agent}  {spec.target_dataset} at {spec.target_base}"),
        ("created", _when(migration.created_unix)),
        ("updated", _when(migration.updated_unix)),
        ("data moved", moved_text(migration.bytes_transferred, migration.moved)),
        ("downtime", human_seconds(migration.downtime_seconds)),
        ("converge rounds", rounds_text(migration.converge_rounds)),
    ):
        table.add_row(f"[bold]{label}[/]", value)
    if migration.HasField("downtime"):
        for line in breakdown_lines(migration.downtime):
            table.add_row("", line)
    if migration.carried_files:
        table.add_row("[bold]compose files[/]", carried_text(migration.carried_files))
    if migration.waiting:
        table.add_row("[bold yellow]waiting[/]", migration.waiting)
    if migration.error:
        table.add_row("[bold red]error[/]", migration.error)
    console.print(table)
    if migration.steps:
        console.print(steps_table(migration.steps))


def steps_table(steps: Any) -> Table:
    table = Table("step", "state", "bytes", "time", "error", box=None, header_style="bold")
    for step in steps:
        moved = human_bytes(step.bytes_done) if step.bytes_done or step.bytes_expected else ""
        if step.bytes_expected:
            moved += f" / {human_bytes(step.bytes_expected)}"
        table.add_row(step.name, step.state, moved, _step_duration(step), step.error)
    return table


def print_status(console: Console, status: pb.MigrationStatus) -> None:
    from stackferry.cli.downtime_output import breakdown_lines, rounds_text

    table = Table.grid(padding=(0, 2))
    rows = [
        ("id", status.id),
        ("state", state_name(status.state)),
        ("progress", f"{status.progress_percent:.1f} %"),
        ("step", status.current_step or "-"),
        ("bytes", f"{human_bytes(status.bytes_done)} / {human_bytes(status.bytes_expected)}"),
        ("rate", f"{human_bytes(status.rate_bytes_per_second)}/s"),
        ("eta", human_seconds(status.eta_seconds)),
        ("downtime", human_seconds(status.downtime_seconds)),
        ("converge rounds", rounds_text(status.converge_rounds)),
    ]
    for label, value in rows:
        table.add_row(f"[bold]{label}[/]", value)
    if status.HasField("downtime"):
        for line in breakdown_lines(status.downtime):
            table.add_row("", line)
    if status.waiting:
        table.add_row("[bold yellow]waiting[/]", status.waiting)
    if status.error:
        table.add_row("[bold red]error[/]", status.error)
    console.print(table)


def print_list(console: Console, migrations: list[pb.Migration]) -> None:
    if not migrations:
        console.print("no migrations")
        return
    table = Table("id", "name", "state", "created", "data moved", "downtime", header_style="bold")
    for m in migrations:
        table.add_row(
            m.id,
            m.spec.name,
            state_name(m.state),
            _when(m.created_unix),
            human_bytes(m.bytes_transferred),
            human_seconds(m.downtime_seconds),
        )
    console.print(table)


def print_report(console: Console, report: pb.ValidationReport) -> None:
    for check in report.checks:
        mark = "[green]✓[/]" if check.ok else "[red]✗[/]"
        console.print(f"{mark} {check.name}" + (f": {check.detail}" if check.detail else ""))
    verdict = "[green]ready to migrate[/]" if report.ok else "[red]not ready to migrate[/]"
    console.print(verdict)


def stack_of(spec: pb.MigrationSpec) -> str:
    """What names the stack on its source (domain MigrationSpec.stack): its compose files,
    else the running project they are read from."""
    if spec.compose_files:
        return " -f ".join(spec.compose_files)
    return spec.compose_path or f"project {spec.project_name}"


def carried_text(carried: Any) -> str:
    """How many files of the compose project the migration carries, and which go as files."""
    as_files = [f.target_path for f in carried if not f.inside_data]
    inside = f"{len(carried)} files: {len(carried) - len(as_files)} inside the migrated data"
    return inside + (
        f", {len(as_files)} carried as files ({', '.join(as_files)})" if as_files else ""
    )


def print_plan(console: Console, plan: pb.MigrationPlan) -> None:
    console.print(f"[bold]project[/] {plan.project_name}")
    console.print(f"[bold]compose and .env go to[/] {plan.target_compose_dir}")
    datasets = Table(
        "source dataset", "mounted at", "target dataset", "mounted at", "size", header_style="bold"
    )
    for d in plan.datasets:
        datasets.add_row(
            d.source_dataset,
            d.source_mountpoint,
            d.target_dataset,
            d.target_mountpoint,
            human_bytes(d.estimated_bytes),
        )
    console.print(datasets)
    console.print(mounts_table(plan.mounts))
    console.print(f"[bold]total to copy[/] about {human_bytes(plan.total_bytes)}")
    paths = Table("source path", "target path", header_style="bold", title="path map")
    for mapping in plan.path_map:
        paths.add_row(mapping.source, mapping.target)
    console.print(paths)
    if plan.rewrites:
        rewrites = Table("where", "before", "after", "why", header_style="bold")
        for r in plan.rewrites:
            style = "" if r.changed else "dim"
            rewrites.add_row(r.location, r.before, r.after, r.reason, style=style)
        console.print(rewrites)
    if plan.carried_files:
        print_carried_files(console, plan)
        return
    for title, diff in (("compose file", plan.compose_diff), (".env", plan.env_diff)):
        if diff:
            console.print(f"[bold]{title}[/]")
            console.print(Syntax(diff, "diff", theme="ansi_dark", background_color="default"))
        else:
            console.print(f"[bold]{title}[/]: unchanged")


def print_carried_files(console: Console, plan: pb.MigrationPlan) -> None:
    """The compose project as the target runs it, then every file of it: where it goes, how
    (with the migrated data, or carried as a file) and its diff."""
    how = f" (found from the {plan.discovered_from})" if plan.discovered_from == "labels" else ""
    console.print(f"[bold]compose -f[/] {' -f '.join(plan.compose_files)}{how}")
    if plan.env_files:
        console.print(f"[bold]--env-file[/] {' --env-file '.join(plan.env_files)}")
    console.print(f"[bold]profiles[/] {', '.join(plan.profiles) or '-'}")
    console.print(f"[bold]services started[/] {', '.join(plan.services) or 'every active one'}")
    console.print(f"[bold]files of the project[/] ({len(plan.carried_files)})")
    for f in plan.carried_files:
        way = (
            "inside the migrated data"
            if f.inside_data
            else "carried as a file (outside the migrated data)"
        )
        console.print(f"  {f.kind} {f.source_path} -> {f.target_path}: {way}", soft_wrap=True)
        if f.diff:
            console.print(Syntax(f.diff, "diff", theme="ansi_dark", background_color="default"))
        else:
            console.print("    unchanged")


MOVER_STYLE = {"refused": "red", "excluded": "yellow", "left alone": "dim", "nothing": "dim"}


def mounts_table(mounts: Any) -> Table:
    """Every mount of every service and how it moves (and why, when it does not)."""
    table = Table(
        "service",
        "mount",
        "from",
        "mover",
        "to",
        "size",
        "why",
        header_style="bold",
        title="mounts",
    )
    for m in mounts:
        table.add_row(
            m.service,
            m.target,
            m.source,
            m.mover,
            m.moves_to,
            human_bytes(m.size_bytes) if m.size_bytes else "",
            m.reason,
            style=MOVER_STYLE.get(m.mover, ""),
        )
    return table


def print_ping(console: Console, address: str, ping: pb.PingAgentReply) -> None:
    if not ping.reachable:
        console.print(f"[red]✗[/] {address}: {ping.error}")
        return
    console.print(
        f"[green]✓[/] {address}: stackferry-agent {ping.version} on {ping.hostname}, "
        f"storage {ping.storage_backend}, compose {ping.compose_variant}, "
        f"{ping.latency_ms:.1f} ms"
    )


def print_summary(console: Console, migration: pb.Migration) -> None:
    from stackferry.cli.downtime_output import breakdown_lines, moved_text, rounds_text

    spec = migration.spec
    state = migration.state
    color = {pb.COMPLETED: "green", pb.ROLLED_BACK: "yellow"}.get(state, "red")
    console.print(f"[bold {color}]migration {migration.id} {state_name(state)}[/]")
    console.print(f"  data moved: {moved_text(migration.bytes_transferred, migration.moved)}")
    console.print(f"  downtime:   {human_seconds(migration.downtime_seconds)}")
    if migration.HasField("downtime"):
        for line in breakdown_lines(migration.downtime):
            console.print(f"    {line}")
    if migration.converge_rounds:
        console.print(
            f"  converge rounds before the stop: {rounds_text(migration.converge_rounds)}"
        )
    for d in migration.datasets:
        console.print(
            f"  dataset:    {d.source_dataset} -> {d.target_dataset}: {human_bytes(d.bytes_moved)}"
        )
    for f in migration.files:
        console.print(f"  files:      {f.name} -> {f.moves_to}: {human_bytes(f.bytes_moved)}")
    for m in migration.mounts:
        if m.mover in ("excluded", "refused"):
            console.print(
                f"  [yellow]{m.mover}:[/] {m.service} {m.source} ({m.target}): {m.reason}"
            )
    if state == pb.COMPLETED:
        console.print(
            f"  stack {migration.project_name} now runs on {spec.target_agent} "
            f"(data in {spec.target_dataset}, mounted below {spec.target_base})"
        )
    elif state == pb.ROLLED_BACK:
        console.print(f"  stack {migration.project_name} runs again on {spec.source_agent}")
    elif state == pb.NEEDS_ATTENTION:
        console.print(
            f"  [yellow]stack {migration.project_name} is stopped on {spec.source_agent}; "
            f"whether it runs on {spec.target_agent} is not known[/]"
        )
    if migration.error:
        console.print(f"  [red]reason:[/] {migration.error}")


class LiveProgress:
    """Follows a migration: a rich bar per step on a terminal, a line every few seconds else."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.interactive = console.is_terminal
        self.progress = Progress(
            SpinnerColumn(finished_text="[green]✓[/]"),
            TextColumn("{task.description:<20}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[detail]}"),
            console=console,
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}
        self._last_line = ""
        self._last_time = 0.0
        self._last_position: tuple[int, str] = (0, "")

    def __enter__(self) -> LiveProgress:
        if self.interactive:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.interactive:
            self.progress.stop()

    def update(self, migration: pb.Migration, status: pb.MigrationStatus) -> None:
        if self.interactive:
            for step in migration.steps:
                self._show_step(step, status)
        else:
            self._print_line(status)

    def _show_step(self, step: pb.Step, status: pb.MigrationStatus) -> None:
        finished = step.state in ("done", "failed")
        total = float(step.bytes_expected) if step.bytes_expected else None
        current = step.name == status.current_step and step.state == "running"
        detail = self._detail(step, status if current else None)
        if step.name not in self.tasks:
            self.tasks[step.name] = self.progress.add_task(step.name, total=total, detail=detail)
        task = self.tasks[step.name]
        if finished:
            done = total if total is not None else 1.0
            self.progress.update(task, total=done, completed=done, detail=detail)
        else:
            completed = float(step.bytes_done) if total else 0.0
            self.progress.update(task, total=total, completed=completed, detail=detail)

    @staticmethod
    def _detail(step: pb.Step, status: pb.MigrationStatus | None) -> str:
        parts = []
        if step.bytes_expected or step.bytes_done:
            parts.append(f"{human_bytes(step.bytes_done)}/{human_bytes(step.bytes_expected)}")
        if status is not None and status.rate_bytes_per_second > 0:
            parts.append(f"{human_bytes(status.rate_bytes_per_second)}/s")
            parts.append(f"eta {human_seconds(status.eta_seconds)}")
        if status is not None and status.waiting:
            parts.append(f"[yellow]{status.waiting}[/]")
        if step.state in ("done", "failed"):
            parts.append(_step_duration(step))
        if step.error:
            parts.append(f"[red]{step.error}[/]")
        return "  ".join(parts)

    def _print_line(self, status: pb.MigrationStatus) -> None:
        """A line when the step changes, else at most every few seconds; never twice the same."""
        line = f"{state_name(status.state)} {status.progress_percent:5.1f} %"
        if status.current_step:
            line += f"  {status.current_step}"
        if status.bytes_expected:
            line += f"  {human_bytes(status.bytes_done)}/{human_bytes(status.bytes_expected)}"
        if status.rate_bytes_per_second > 0:
            line += f"  {human_bytes(status.rate_bytes_per_second)}/s"
            line += f"  eta {human_seconds(status.eta_seconds)}"
        if status.waiting:
            line += f"  {status.waiting}"
        now = time.monotonic()
        moved_on = (status.state, status.current_step) != self._last_position
        if line == self._last_line or not (moved_on or now - self._last_time >= PLAIN_INTERVAL):
            return
        self._last_line, self._last_time = line, now
        self._last_position = (status.state, status.current_step)
        self.console.print(line, highlight=False)
