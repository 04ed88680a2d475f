"""The steps that end a migration: clean up after success, or undo after a failure or a
cancel (start the source again, discard the migration's snapshots)."""

from __future__ import annotations

import contextlib
import time

from stackferry.controller.domain.model import snapshot_name
from stackferry.controller.engine.context import StepContext
from stackferry.controller.errors import ControllerError, NotFound


def cleanup(ctx: StepContext) -> None:
    if ctx.migration.spec.options.keep_snapshots:
        return
    _destroy_snapshots(ctx, hosts=("source", "target"))


def rollback(ctx: StepContext) -> None:
    """Target stack stopped (left for inspection), source stack started again."""
    m = ctx.migration
    target_compose = ctx.planner.replan(m).target_compose_path
    stop_timeout = ctx.timings.stop_timeout_seconds
    try:
        ctx.target.stop_stack(m.project_name, target_compose, stop_timeout)
    except ControllerError as exc:
        ctx.log(f"target stack not stopped ({exc}): nothing deployed there", "rollback")
    ctx.source.start_stack(m.project_name, m.spec.compose_path)
    if m.source_stopped_at is not None:
        m.downtime_seconds = time.time() - m.source_stopped_at


def discard(ctx: StepContext) -> None:
    """The migration's snapshots on the source go; data already on the target stays."""
    m = ctx.migration
    _destroy_snapshots(ctx, hosts=("source",))
    received = sorted({s.dataset for s in m.snapshots if s.host == "target"})
    if received:
        ctx.log(f"data already copied stays on the target: {', '.join(received)}")


def rollback_and_discard(ctx: StepContext) -> None:
    rollback(ctx)
    discard(ctx)


def _destroy_snapshots(ctx: StepContext, hosts: tuple[str, ...]) -> None:
    """Both phases' snapshots on `hosts`; one already gone is not an error."""
    m = ctx.migration
    for phase in (2, 1):
        name = snapshot_name(m, phase)
        for host in hosts:
            agent = ctx.source if host == "source" else ctx.target
            for d in m.datasets:
                dataset = d.source_dataset if host == "source" else d.target_dataset
                with contextlib.suppress(NotFound):
                    agent.destroy_snapshot([dataset], name)
    m.snapshots = [s for s in m.snapshots if s.host not in hosts]
