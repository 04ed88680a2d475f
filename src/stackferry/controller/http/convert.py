"""Domain types <-> the JSON shapes of http/shapes.py, and the specification's create body
-> a MigrationSpec, with the controller's defaults filled in.

Times cross as Unix seconds; a time, downtime or ETA not known yet is null.
"""

from __future__ import annotations

from dataclasses import dataclass

from stackferry.controller.domain import model
from stackferry.controller.domain.plan import Plan
from stackferry.controller.domain.progress import MigrationStatus, status_of
from stackferry.controller.domain.validation import ValidationReport
from stackferry.controller.errors import InvalidArgument
from stackferry.controller.http import shapes

TRANSFER_METHOD = "zfs_send"
DEFAULT_AGENT_PORT = 7701  # the agent's default listen port (agent/config.py)
DEFAULT_OPTIONS = model.MigrationOptions()


class MissingField(InvalidArgument):
    """A create body lacks a field that has no default; `field` names it."""

    def __init__(self, field: str, hint: str = "") -> None:
        self.field = field
        super().__init__(f"{field} is required{hint}")


@dataclass(frozen=True)
class SpecDefaults:
    """What the controller's config supplies to a create body that leaves it out."""

    local_agent: str = ""
    default_target_dataset: str = ""


def agent_address(host: str) -> str:
    """HOST or HOST:PORT; a bare host (or [IPv6]) gets the agent's default port."""
    if host.startswith("["):
        return host if "]:" in host else f"{host}:{DEFAULT_AGENT_PORT}"
    if host.count(":") == 1:
        return host
    if ":" in host:  # a bare IPv6 address
        return f"[{host}]:{DEFAULT_AGENT_PORT}"
    return f"{host}:{DEFAULT_AGENT_PORT}"


def _required(value: str | None, field: str, hint: str = "") -> str:
    if not value:
        raise MissingField(field, hint)
    return value


def spec_from_create(body: shapes.CreateMigration, defaults: SpecDefaults) -> model.MigrationSpec:
    """The spec the body asks for; MissingField for what it lacks and no default supplies."""
    if not body.use_zfs:
        raise InvalidArgument("use_zfs: false is not supported; stackferry moves ZFS datasets")
    if body.transfer_method != TRANSFER_METHOD:
        raise InvalidArgument(
            f"transfer_method: {body.transfer_method!r} is not one of {TRANSFER_METHOD}"
        )
    options = body.options
    name = _required(body.name, "name")  # the fields are named in the specification's order
    compose_path = body.compose_stack_path or next(iter(body.compose_files), "")
    if not body.project_name:
        _required(compose_path, "compose_stack_path", " (or project_name of a running project)")
    return model.MigrationSpec(
        name=name,
        compose_path=compose_path,
        compose_files=tuple(body.compose_files),
        env_files=tuple(body.env_files),
        source_agent=agent_address(
            _required(
                body.source_agent or defaults.local_agent,
                "source_agent",
                " (the controller has no local_agent configured)",
            )
        ),
        target_agent=agent_address(_required(body.target_host, "target_host")),
        target_dataset=_required(
            body.target_dataset or defaults.default_target_dataset,
            "target_dataset",
            " (the controller has no default_target_dataset configured)",
        ),
        target_base=_required(body.target_base_path, "target_base_path"),
        target_compose_dir=body.target_compose_dir,
        project_name=body.project_name,
        options=model.MigrationOptions(
            keep_snapshots=options.keep_snapshots,
            verify_timeout_seconds=options.verify_timeout_seconds
            or DEFAULT_OPTIONS.verify_timeout_seconds,
            bandwidth_limit_bytes_per_second=options.bandwidth_limit_bytes_per_second,
            path_maps=tuple(model.PathMapping(m.source, m.target) for m in body.path_maps),
        ),
    )


def step_to_json(step: model.Step) -> shapes.Step:
    duration = None
    if step.started_at is not None and step.ended_at is not None:
        duration = step.ended_at - step.started_at
    return shapes.Step(
        name=step.name,
        status=step.state.value,
        started_at=step.started_at,
        ended_at=step.ended_at,
        duration_seconds=duration,
        bytes_done=step.bytes_done,
        bytes_expected=step.bytes_expected,
        error=step.error,
    )


def spec_to_json(spec: model.MigrationSpec) -> shapes.Spec:
    options = spec.options
    return shapes.Spec(
        name=spec.name,
        compose_stack_path=spec.compose_path,
        source_agent=spec.source_agent,
        target_host=spec.target_agent,
        target_dataset=spec.target_dataset,
        target_base_path=spec.target_base,
        target_compose_dir=spec.target_compose_dir,
        project_name=spec.project_name,
        transfer_method=TRANSFER_METHOD,
        use_zfs=True,
        path_maps=[shapes.PathMap(source=m.source, target=m.target) for m in options.path_maps],
        compose_files=list(spec.compose_files),
        env_files=list(spec.env_files),
        options=shapes.Options(
            keep_snapshots=options.keep_snapshots,
            verify_timeout_seconds=options.verify_timeout_seconds,
            bandwidth_limit_bytes_per_second=options.bandwidth_limit_bytes_per_second,
        ),
    )


def migration_to_json(migration: model.Migration) -> shapes.Migration:
    return shapes.Migration(
        id=migration.id,
        name=migration.spec.name,
        status=migration.state.value,
        # The percentage depends on the steps alone; the clock only moves rate and ETA.
        progress_percentage=status_of(migration, migration.updated_at).progress_percent,
        spec=spec_to_json(migration.spec),
        project_name=migration.project_name,
        error=migration.error,
        created_at=migration.created_at,
        updated_at=migration.updated_at,
        downtime_seconds=migration.downtime_seconds,
        bytes_transferred=migration.bytes_transferred,
        steps=[step_to_json(s) for s in migration.steps],
    )


def _step_percent(step: model.Step) -> float:
    if step.state == model.StepState.DONE:
        return 100.0
    if step.bytes_expected > 0:
        return round(min(100.0 * step.bytes_done / step.bytes_expected, 100.0), 1)
    return 0.0


def status_to_json(status: MigrationStatus, steps: list[model.Step]) -> shapes.Status:
    step = status.step
    return shapes.Status(
        id=status.id,
        status=status.state.value,
        progress_percentage=status.progress_percent,
        current_step=None
        if step is None
        else shapes.CurrentStep(
            name=step.name, status=step.state.value, progress=_step_percent(step)
        ),
        estimated_remaining_seconds=status.eta_seconds,
        bytes_done=status.bytes_done,
        bytes_expected=status.bytes_expected,
        rate_bytes_per_second=status.rate_bytes_per_second,
        downtime_seconds=status.downtime_seconds,
        error=status.error,
        steps=[step_to_json(s) for s in steps],
    )


def event_to_json(event: model.Event, progress: shapes.Status) -> shapes.Event:
    return shapes.Event(
        id=event.id,
        migration_id=event.migration_id,
        time=event.time,
        kind=event.kind.value,
        status=event.state.value,
        step=event.step,
        message=event.message,
        bytes_done=event.bytes_done,
        bytes_expected=event.bytes_expected,
        progress=progress,
    )


def report_to_json(report: ValidationReport) -> shapes.ValidationReport:
    return shapes.ValidationReport(
        ok=report.ok,
        checks=[shapes.Check(name=c.name, ok=c.ok, detail=c.detail) for c in report.checks],
    )


def plan_to_json(plan: Plan) -> shapes.Plan:
    return shapes.Plan(
        project_name=plan.project_name,
        datasets=[
            shapes.DatasetPlan(
                source_dataset=d.source_dataset,
                source_mountpoint=d.source_mountpoint,
                target_dataset=d.target_dataset,
                target_mountpoint=d.target_mountpoint,
                estimated_bytes=d.estimated_bytes,
            )
            for d in plan.datasets
        ],
        path_map=[shapes.PathMap(source=m.source, target=m.target) for m in plan.path_map],
        compose_diff=plan.compose_diff,
        env_diff=plan.env_diff,
        rewrites=[
            shapes.Rewrite(
                location=r.location,
                before=r.before,
                after=r.after,
                reason=r.reason,
                changed=r.changed,
            )
            for r in plan.rewrites
        ],
        target_compose_dir=plan.target_compose_dir,
        total_bytes=plan.total_bytes,
        mounts=[
            shapes.MountPlan(
                service=m.service,
                target=m.target,
                source=m.source,
                mover=m.mover.value,
                reason=m.reason,
                size_bytes=m.size_bytes,
                moves_to=m.moves_to,
            )
            for m in plan.mounts
        ],
        files=[
            shapes.FileMovePlan(
                name=f.name,
                moves_to=f"volume {f.target_volume}" if f.target_volume else f.target_path,
                estimated_bytes=f.estimated_bytes,
            )
            for f in plan.files
        ],
        carried_files=[
            shapes.CarriedFile(
                kind=f.kind,
                source_path=f.source_path,
                target_path=f.target_path,
                relative=f.relative,
                inside_data=f.inside_data,
                diff=f.diff,
            )
            for f in plan.carried_files
        ],
        compose_files=list(plan.compose_files),
        env_files=list(plan.env_files),
        profiles=list(plan.profiles),
        services=list(plan.services),
        discovered_from=plan.discovered_from,
    )


def states_from_query(value: str) -> tuple[model.MigrationState, ...]:
    """?state=COMPLETED,failed -> the states; InvalidArgument naming an unknown one."""
    states = []
    for name in filter(None, (v.strip().upper() for v in value.split(","))):
        if name not in model.MigrationState.__members__:
            known = ", ".join(model.MigrationState.__members__)
            raise InvalidArgument(f"state: {name!r} is not one of {known}")
        states.append(model.MigrationState(name))
    return tuple(states)
