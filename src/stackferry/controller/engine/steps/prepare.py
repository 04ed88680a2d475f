"""The steps before anything moves: validate (and keep what the plan needs), take snapshots."""

from __future__ import annotations

import time

from stackferry.controller.domain.model import SnapshotRecord, SourceProject, snapshot_name
from stackferry.controller.engine import claims
from stackferry.controller.engine.context import StepContext, StepFailed
from stackferry.controller.errors import ControllerError


def validate(ctx: StepContext) -> None:
    """Every check of the validation report; the stack and plan are kept for the later steps,
    which must not need the source (it may be stopped or gone by then)."""
    m = ctx.migration
    survey = ctx.planner.survey(m.spec)
    if survey.stack is None or survey.plan is None:
        raise StepFailed(f"validation failed: {survey.report.failures()}")
    m.project_name = survey.plan.project_name
    m.compose_text, m.env_text = survey.stack.compose_text, survey.stack.env_text
    m.datasets = list(survey.plan.datasets)
    m.files, m.mounts = list(survey.plan.files), list(survey.plan.mounts)
    m.source_project = SourceProject.of(survey.stack)
    m.carried_files = list(survey.plan.carried_files)
    if not survey.report.ok:
        _name_the_holder(ctx)
        raise StepFailed(f"validation failed: {survey.report.failures()}")
    if not m.datasets and not m.files:
        raise StepFailed("the stack keeps no data in a mount: nothing to migrate")
    claims.take(ctx)


def _name_the_holder(ctx: StepContext) -> None:
    """A failed report may be another migration at work (its datasets already exist on the
    target): its claim names it, which the report cannot. StepFailed naming the holder if the
    agents refuse the claims, else they are dropped again (an agent that does not answer is in
    the report already). Whatever happens, they are released again, and they are taken for
    PROBE_TTL_SECONDS only, so that one whose release failed lapses soon."""
    try:
        claims.take(ctx, claims.PROBE_TTL_SECONDS)
    except StepFailed:
        raise
    except ControllerError:
        return
    finally:
        claims.release_source(ctx)
        claims.release_target(ctx)


def snapshot(ctx: StepContext, phase: int = 1) -> None:
    take_snapshots(ctx, snapshot_name(ctx.migration, phase), f"snapshot-{phase}")


def take_snapshots(ctx: StepContext, name: str, label: str) -> None:
    """Snapshots `name` of every source dataset; ones an earlier attempt took are reused."""
    m = ctx.migration
    datasets = [d.source_dataset for d in m.datasets]
    if not datasets:
        return  # a stack whose data is all off ZFS: the file passes copy it
    existing = {s.dataset: s for s in ctx.source.list_snapshots(datasets, name)}
    missing = [d for d in datasets if d not in existing]
    if missing:
        for s in ctx.source.create_snapshot(missing, name):
            existing[s.dataset] = s
    else:
        ctx.log(f"snapshots @{name} already exist: reused", label)
    for s in existing.values():
        m.remember(SnapshotRecord("source", s.dataset, name, s.guid, time.time()))


def final_snapshot(ctx: StepContext) -> None:
    snapshot(ctx, phase=2)
