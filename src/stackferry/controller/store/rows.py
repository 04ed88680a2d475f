"""Conversion between the domain dataclasses and the rows of controller/store/tables.py."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from stackferry.controller.domain.downtime import ConvergeRound, DowntimeBreakdown
from stackferry.controller.domain.model import (
    CarriedFilePlan,
    DatasetPlan,
    Event,
    EventKind,
    FileMove,
    Migration,
    MigrationOptions,
    MigrationSpec,
    MigrationState,
    MountEntry,
    Mover,
    PathMapping,
    SnapshotRecord,
    SourceProject,
    Step,
    StepState,
)
from stackferry.hostapi import ProjectFile


def active_stack_key(migration: Migration) -> str | None:
    """The value of the unique `active_stack` column: set while the migration runs."""
    if migration.state.is_terminal:
        return None
    return f"{migration.spec.source_agent}\n{migration.spec.stack}"


def spec_to_json(spec: MigrationSpec) -> dict[str, Any]:
    return dataclasses.asdict(spec)


def spec_from_json(data: Mapping[str, Any]) -> MigrationSpec:
    options = dict(data["options"])
    options["path_maps"] = tuple(PathMapping(*pair) for pair in options["path_maps"])
    options["excludes"] = tuple(options.get("excludes", ()))
    lists = {k: tuple(data.get(k, ())) for k in ("compose_files", "env_files")}
    return MigrationSpec(**{**data, **lists, "options": MigrationOptions(**options)})


def project_to_json(project: SourceProject) -> dict[str, Any]:
    """The source's compose project; file contents as base64 (a secrets file may be binary)."""
    data = dataclasses.asdict(project)
    data["files"] = [
        {**dataclasses.asdict(f), "content": base64.b64encode(f.content).decode("ascii")}
        for f in project.files
    ]
    return data


def project_from_json(data: Mapping[str, Any]) -> SourceProject:
    if not data:
        return SourceProject()
    files = tuple(
        ProjectFile(**{**f, "content": base64.b64decode(f["content"])}) for f in data["files"]
    )
    lists = {k: tuple(data[k]) for k in ("compose_files", "env_files", "profiles")}
    return SourceProject(
        project_dir=data["project_dir"],
        running_services=tuple(data["running_services"]),
        discovered_from=data["discovered_from"],
        files=files,
        **lists,
    )


def migration_values(migration: Migration) -> dict[str, Any]:
    """Every column of `migrations` the domain owns (not seq, version or the lease)."""
    return {
        "id": migration.id,
        "state": migration.state.value,
        "spec": spec_to_json(migration.spec),
        "active_stack": active_stack_key(migration),
        "project_name": migration.project_name,
        "compose_text": migration.compose_text,
        "env_text": migration.env_text,
        "datasets": [dataclasses.asdict(d) for d in migration.datasets],
        "error": migration.error,
        "pending_action": migration.pending_action,
        "downtime_seconds": migration.downtime_seconds,
        "bytes_transferred": migration.bytes_transferred,
        "source_stopped_at": migration.source_stopped_at,
        "target_serving_at": migration.target_serving_at,
        "waiting": migration.waiting,
        "files": [dataclasses.asdict(f) for f in migration.files],
        "mounts": [dataclasses.asdict(m) for m in migration.mounts],
        "downtime_report": dataclasses.asdict(migration.downtime_report),
        "converge_rounds": [dataclasses.asdict(r) for r in migration.converge_rounds],
        "moved_bytes": dict(migration.moved_bytes),
        "source_project": project_to_json(migration.source_project),
        "carried_files": [dataclasses.asdict(f) for f in migration.carried_files],
        "created_at": migration.created_at,
        "updated_at": migration.updated_at,
    }


def step_values(migration_id: str, position: int, step: Step) -> dict[str, Any]:
    return {
        "migration_id": migration_id,
        "name": step.name,
        "position": position,
        "state": step.state.value,
        "started_at": step.started_at,
        "ended_at": step.ended_at,
        "bytes_done": step.bytes_done,
        "bytes_expected": step.bytes_expected,
        "error": step.error,
    }


def snapshot_values(migration_id: str, snapshot: SnapshotRecord) -> dict[str, Any]:
    return {"migration_id": migration_id, **dataclasses.asdict(snapshot)}


def event_values(event: Event) -> dict[str, Any]:
    return {
        "migration_id": event.migration_id,
        "time": event.time,
        "kind": event.kind.value,
        "state": event.state.value,
        "step": event.step,
        "message": event.message,
        "bytes_done": event.bytes_done,
        "bytes_expected": event.bytes_expected,
    }


def step_from_row(row: sa.RowMapping) -> Step:
    return Step(
        name=row["name"],
        state=StepState(row["state"]),
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        bytes_done=row["bytes_done"],
        bytes_expected=row["bytes_expected"],
        error=row["error"],
    )


def snapshot_from_row(row: sa.RowMapping) -> SnapshotRecord:
    return SnapshotRecord(
        host=row["host"],
        dataset=row["dataset"],
        name=row["name"],
        guid=row["guid"],
        created_at=row["created_at"],
    )


def event_from_row(row: sa.RowMapping) -> Event:
    return Event(
        id=row["id"],
        migration_id=row["migration_id"],
        time=row["time"],
        kind=EventKind(row["kind"]),
        state=MigrationState(row["state"]),
        step=row["step"],
        message=row["message"],
        bytes_done=row["bytes_done"],
        bytes_expected=row["bytes_expected"],
    )


def migration_from_rows(
    row: sa.RowMapping,
    step_rows: Sequence[sa.RowMapping],
    snapshot_rows: Sequence[sa.RowMapping],
) -> Migration:
    """`step_rows` in position order, `snapshot_rows` in the order they were recorded."""
    return Migration(
        id=row["id"],
        spec=spec_from_json(row["spec"]),
        state=MigrationState(row["state"]),
        error=row["error"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
        pending_action=row["pending_action"],
        steps=[step_from_row(r) for r in step_rows],
        project_name=row["project_name"],
        downtime_seconds=row["downtime_seconds"],
        bytes_transferred=row["bytes_transferred"],
        compose_text=row["compose_text"],
        env_text=row["env_text"],
        datasets=[DatasetPlan(**d) for d in row["datasets"]],
        snapshots=[snapshot_from_row(r) for r in snapshot_rows],
        source_stopped_at=row["source_stopped_at"],
        target_serving_at=row["target_serving_at"],
        waiting=row["waiting"],
        files=[FileMove(**f) for f in row["files"]],
        mounts=[MountEntry(**{**m, "mover": Mover(m["mover"])}) for m in row["mounts"]],
        downtime_report=DowntimeBreakdown(**row["downtime_report"]),
        converge_rounds=[ConvergeRound(**r) for r in row["converge_rounds"]],
        moved_bytes=dict(row["moved_bytes"]),
        source_project=project_from_json(row["source_project"]),
        carried_files=[CarriedFilePlan(**f) for f in row["carried_files"]],
    )
