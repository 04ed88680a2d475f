"""The one place that converts between the controller's protobuf messages and its domain types.

Proto3 has no "unset" for scalars: an empty string or a zero means "the default", so a zero
verify timeout becomes the domain default. Times cross as Unix seconds; a time not known yet
is 0 in a message and None in the domain; a downtime or ETA not known yet is -1.
"""

from __future__ import annotations

from stackferry.api.controller.v1 import controller_pb2 as pb
from stackferry.controller.domain import model
from stackferry.controller.domain.downtime import (
    MOVED_KINDS,
    SPANS,
    ConvergeRound,
    DowntimeBreakdown,
)
from stackferry.controller.domain.plan import Plan
from stackferry.controller.domain.progress import MigrationStatus
from stackferry.controller.domain.validation import ValidationReport
from stackferry.controller.errors import InvalidArgument
from stackferry.hostapi import AgentPing

DEFAULT_OPTIONS = model.MigrationOptions()
# The API names how data moves so that another way can be added; zfs_send is the only one.
TRANSFER_METHOD = "zfs_send"


def state_to_pb(state: model.MigrationState) -> pb.MigrationState:
    return pb.MigrationState.Value(state.value)  # type: ignore[return-value]


def state_from_pb(value: int) -> model.MigrationState:
    if value == pb.MIGRATION_STATE_UNSPECIFIED or value not in pb.MigrationState.values():
        raise InvalidArgument(f"unknown migration state {value}")
    return model.MigrationState(pb.MigrationState.Name(value))  # type: ignore[arg-type]


def options_from_pb(message: pb.MigrationOptions) -> model.MigrationOptions:
    if message.stop_timeout_seconds < 0:
        raise InvalidArgument("stop_timeout_seconds: must be 0 (each service's own) or more")
    return model.MigrationOptions(
        keep_snapshots=message.keep_snapshots,
        verify_timeout_seconds=message.verify_timeout_seconds
        or DEFAULT_OPTIONS.verify_timeout_seconds,
        bandwidth_limit_bytes_per_second=message.bandwidth_limit_bytes_per_second,
        path_maps=tuple(model.PathMapping(m.source, m.target) for m in message.path_maps),
        keep_target_on_failure=message.keep_target_on_failure,
        excludes=tuple(message.excludes),
        allow_overwrite=message.allow_overwrite,
        stop_timeout_seconds=message.stop_timeout_seconds,
        compression=message.compression or "none",
        converge_max_rounds=message.converge_max_rounds
        if message.HasField("converge_max_rounds")
        else DEFAULT_OPTIONS.converge_max_rounds,
        converge_target_seconds=message.converge_target_seconds
        or DEFAULT_OPTIONS.converge_target_seconds,
        final_parallelism=message.final_parallelism or DEFAULT_OPTIONS.final_parallelism,
    )


def options_to_pb(options: model.MigrationOptions) -> pb.MigrationOptions:
    return pb.MigrationOptions(
        keep_snapshots=options.keep_snapshots,
        verify_timeout_seconds=options.verify_timeout_seconds,
        bandwidth_limit_bytes_per_second=options.bandwidth_limit_bytes_per_second,
        path_maps=[pb.PathMapping(source=m.source, target=m.target) for m in options.path_maps],
        keep_target_on_failure=options.keep_target_on_failure,
        excludes=list(options.excludes),
        allow_overwrite=options.allow_overwrite,
        stop_timeout_seconds=options.stop_timeout_seconds,
        compression=options.compression,
        converge_max_rounds=options.converge_max_rounds,
        converge_target_seconds=options.converge_target_seconds,
        final_parallelism=options.final_parallelism,
    )


def spec_from_pb(message: pb.MigrationSpec) -> model.MigrationSpec:
    method = message.transfer_method or TRANSFER_METHOD
    if method != TRANSFER_METHOD:
        raise InvalidArgument(f"transfer_method: {method!r} is not one of {TRANSFER_METHOD}")
    return model.MigrationSpec(
        name=message.name,
        compose_path=message.compose_path,
        source_agent=message.source_agent,
        target_agent=message.target_agent,
        target_dataset=message.target_dataset,
        target_base=message.target_base,
        target_compose_dir=message.target_compose_dir,
        project_name=message.project_name,
        options=options_from_pb(message.options),
        compose_files=tuple(message.compose_files),
        env_files=tuple(message.env_files),
    )


def spec_to_pb(spec: model.MigrationSpec) -> pb.MigrationSpec:
    return pb.MigrationSpec(
        name=spec.name,
        compose_path=spec.compose_path,
        source_agent=spec.source_agent,
        target_agent=spec.target_agent,
        target_dataset=spec.target_dataset,
        target_base=spec.target_base,
        target_compose_dir=spec.target_compose_dir,
        transfer_method=TRANSFER_METHOD,
        options=options_to_pb(spec.options),
        project_name=spec.project_name,
        compose_files=list(spec.compose_files),
        env_files=list(spec.env_files),
    )


def target_from_pb(message: pb.MigrationTarget) -> str | model.MigrationSpec:
    """A MigrationTarget names a stored migration (its id) or carries a spec to check as is."""
    which = message.WhichOneof("target")
    if which == "id":
        return message.id
    if which == "spec":
        return spec_from_pb(message.spec)
    raise InvalidArgument("give either a migration id or a migration spec")


def _time(value: float | None) -> float:
    return value or 0.0


def _unknown_negative(value: float | None) -> float:
    return -1.0 if value is None else value


def step_to_pb(step: model.Step) -> pb.Step:
    return pb.Step(
        name=step.name,
        state=step.state.value,
        started_unix=_time(step.started_at),
        ended_unix=_time(step.ended_at),
        bytes_done=step.bytes_done,
        bytes_expected=step.bytes_expected,
        error=step.error,
    )


def migration_to_pb(migration: model.Migration) -> pb.Migration:
    return pb.Migration(
        id=migration.id,
        spec=spec_to_pb(migration.spec),
        state=state_to_pb(migration.state),
        error=migration.error,
        created_unix=migration.created_at,
        updated_unix=migration.updated_at,
        steps=[step_to_pb(s) for s in migration.steps],
        downtime_seconds=_unknown_negative(migration.downtime_seconds),
        bytes_transferred=migration.bytes_transferred,
        project_name=migration.project_name,
        waiting=migration.waiting,
        mounts=[mount_plan_to_pb(m) for m in migration.mounts],
        files=[file_move_to_pb(f) for f in migration.files],
        datasets=[dataset_plan_to_pb(d) for d in migration.datasets],
        downtime=downtime_to_pb(migration.downtime_report)
        if migration.downtime_seconds is not None
        else None,
        converge_rounds=[converge_round_to_pb(r) for r in migration.converge_rounds],
        moved=pb.MovedBytes(**{k: migration.moved_bytes.get(k, 0) for k in MOVED_KINDS}),
        carried_files=[carried_file_to_pb(f) for f in migration.carried_files],
    )


def downtime_to_pb(d: DowntimeBreakdown) -> pb.DowntimeBreakdown:
    return pb.DowntimeBreakdown(
        downtime_seconds=d.downtime_seconds,
        stop_seconds=d.stop_seconds,
        final_snapshot_seconds=d.final_snapshot_seconds,
        final_transfer_seconds=d.final_transfer_seconds,
        deploy_seconds=d.deploy_seconds,
        start_to_healthy_seconds=d.start_to_healthy_seconds,
        final_delta_bytes=d.final_delta_bytes,
        link_rate_bytes_per_second=d.link_rate_bytes_per_second,
        floor_seconds=d.floor_seconds,
        overhead_seconds=d.overhead_seconds,
        spans=SPANS,
    )


def converge_round_to_pb(r: ConvergeRound) -> pb.ConvergeRound:
    return pb.ConvergeRound(round=r.round, bytes=r.bytes, seconds=r.seconds)


def status_to_pb(status: MigrationStatus) -> pb.MigrationStatus:
    return pb.MigrationStatus(
        id=status.id,
        state=state_to_pb(status.state),
        progress_percent=status.progress_percent,
        current_step=status.current_step,
        step=step_to_pb(status.step) if status.step is not None else None,
        bytes_done=status.bytes_done,
        bytes_expected=status.bytes_expected,
        rate_bytes_per_second=status.rate_bytes_per_second,
        eta_seconds=_unknown_negative(status.eta_seconds),
        error=status.error,
        downtime_seconds=_unknown_negative(status.downtime_seconds),
        waiting=status.waiting,
        downtime=downtime_to_pb(status.downtime) if status.downtime is not None else None,
        converge_rounds=[converge_round_to_pb(r) for r in status.converge_rounds],
    )


def event_to_pb(event: model.Event, status: MigrationStatus | None = None) -> pb.MigrationEvent:
    return pb.MigrationEvent(
        migration_id=event.migration_id,
        time_unix=event.time,
        kind=event.kind.value,
        state=state_to_pb(event.state),
        step=event.step,
        message=event.message,
        status=status_to_pb(status) if status is not None else None,
        bytes_done=event.bytes_done,
        bytes_expected=event.bytes_expected,
    )


def report_to_pb(report: ValidationReport) -> pb.ValidationReport:
    return pb.ValidationReport(
        ok=report.ok,
        checks=[pb.ValidationCheck(name=c.name, ok=c.ok, detail=c.detail) for c in report.checks],
    )


def dataset_plan_to_pb(dataset: model.DatasetPlan) -> pb.DatasetPlan:
    return pb.DatasetPlan(
        source_dataset=dataset.source_dataset,
        source_mountpoint=dataset.source_mountpoint,
        target_dataset=dataset.target_dataset,
        target_mountpoint=dataset.target_mountpoint,
        estimated_bytes=dataset.estimated_bytes,
        bytes_moved=dataset.bytes_moved,
    )


def plan_to_pb(plan: Plan) -> pb.MigrationPlan:
    return pb.MigrationPlan(
        project_name=plan.project_name,
        datasets=[dataset_plan_to_pb(d) for d in plan.datasets],
        path_map=[pb.PathMapping(source=m.source, target=m.target) for m in plan.path_map],
        compose_diff=plan.compose_diff,
        env_diff=plan.env_diff,
        rewrites=[
            pb.Rewrite(
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
        mounts=[mount_plan_to_pb(m) for m in plan.mounts],
        files=[file_move_to_pb(f) for f in plan.files],
        carried_files=[carried_file_to_pb(f) for f in plan.carried_files],
        compose_files=list(plan.compose_files),
        env_files=list(plan.env_files),
        profiles=list(plan.profiles),
        services=list(plan.services),
        discovered_from=plan.discovered_from,
    )


def carried_file_to_pb(f: model.CarriedFilePlan) -> pb.CarriedFile:
    return pb.CarriedFile(
        kind=f.kind,
        source_path=f.source_path,
        target_path=f.target_path,
        relative=f.relative,
        inside_data=f.inside_data,
        diff=f.diff,
    )


def mount_plan_to_pb(entry: model.MountEntry) -> pb.MountPlan:
    return pb.MountPlan(
        service=entry.service,
        target=entry.target,
        source=entry.source,
        mover=entry.mover.value,
        reason=entry.reason,
        size_bytes=entry.size_bytes,
        moves_to=entry.moves_to,
    )


def file_move_to_pb(move: model.FileMove) -> pb.FileMovePlan:
    return pb.FileMovePlan(
        name=move.name,
        moves_to=f"volume {move.target_volume}" if move.target_volume else move.target_path,
        estimated_bytes=move.estimated_bytes,
        bytes_moved=move.bytes_moved,
    )


def ping_to_pb(ping: AgentPing) -> pb.PingAgentReply:
    return pb.PingAgentReply(
        reachable=ping.reachable,
        error=ping.error,
        version=ping.version,
        hostname=ping.hostname,
        storage_backend=ping.storage_backend,
        compose_variant=ping.compose_variant,
        latency_ms=ping.latency_ms,
    )
