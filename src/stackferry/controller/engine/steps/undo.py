"""The steps that end a migration: clean up after success, or undo after a failure or a
cancel (start the source again, discard what the migration made).

One live copy, always: the source stack is started again only once the target stack is
known not to run, because the target agent stopped and discarded it, or said there is
nothing there, or the migration never got to its deploy. An agent that does not answer
tells nothing: the rollback tries it again within the retry window, then ends with
TargetUnknown (NEEDS_ATTENTION), the source left stopped, the message saying what to run.

What the migration made on the target goes with it (the agent's discard destroys only what
carries the migration's mark), unless the spec keeps it for inspection
(keep_target_on_failure); a plain retry then finds the target as it was before.
"""

from __future__ import annotations

import contextlib
import time

from stackferry.controller.domain.machine import Action
from stackferry.controller.domain.model import Migration, round_snapshot_name, snapshot_name
from stackferry.controller.engine import claims
from stackferry.controller.engine.context import StepContext, TargetUnknown
from stackferry.controller.errors import ControllerError, NotFound, Unavailable


def cleanup(ctx: StepContext) -> None:
    if ctx.migration.spec.options.keep_snapshots:
        return
    _destroy_snapshots(ctx, hosts=("source", "target"))


def rollback(ctx: StepContext) -> None:
    """The target stack stopped and discarded (or kept, stopped), the source stack started
    again, the migration's source snapshots destroyed and its claims released."""
    m = ctx.migration
    keep = m.spec.options.keep_target_on_failure
    if _maybe_deployed(m):
        try:
            _fence_target(ctx, keep)
        except TargetUnknown as unknown:
            claims.park(ctx, target_answers=not unknown.transient)
            raise
        _start_source(ctx)
    else:
        # Nothing can run on the target: the source serves first, the target is cleaned
        # after (an unreachable target is tried again, the source already running).
        _start_source(ctx)
        if not keep:
            _discard_target(ctx)
    if m.source_stopped_at is not None:
        m.downtime_seconds = time.time() - m.source_stopped_at
    _destroy_snapshots(ctx, hosts=("source",))
    claims.release_source(ctx)
    claims.release_target(ctx)


def _start_source(ctx: StepContext) -> None:
    """With the -f list and env files the source was validated with; only the services that
    ran then (one stopped before the migration stays stopped)."""
    m = ctx.migration
    project = m.source_project
    ctx.source.start_stack(
        m.project_name,
        m.source_compose_path,
        compose_files=project.compose_files,
        env_files=project.env_files,
        services=project.running_services,
    )


def discard(ctx: StepContext) -> None:
    """Before the stop (the source still serves): the migration's source snapshots go, and
    what it received on the target unless the spec keeps it."""
    m = ctx.migration
    _destroy_snapshots(ctx, hosts=("source",))
    claims.release_source(ctx)
    if _maybe_received(m):
        if m.spec.options.keep_target_on_failure:
            received = sorted({s.dataset for s in m.snapshots if s.host == "target"})
            ctx.log(f"data already copied stays on the target: {', '.join(received) or '-'}")
        else:
            _discard_target(ctx)
    claims.release_target(ctx)


def _maybe_deployed(m: Migration) -> bool:
    """The deploy step was opened: its compose up may have run, whatever was heard of it."""
    return any(s.name == Action.DEPLOY and s.started_at is not None for s in m.steps)


def _maybe_received(m: Migration) -> bool:
    return any(s.name == Action.BULK_SEND and s.started_at is not None for s in m.steps)


def _fence_target(ctx: StepContext, keep: bool) -> None:
    """Returns once the target agent said its stack is stopped (and discarded, unless
    `keep`), or that it has none; else TargetUnknown."""
    m = ctx.migration
    address = m.spec.target_agent
    then = f"Check it, then run `stackferry resume {m.id}`"
    try:
        with contextlib.suppress(NotFound):  # no compose file there: nothing deployed
            plan = ctx.planner.replan(m)
            ctx.target.stop_stack(
                m.project_name,
                plan.target_compose_path,
                m.spec.options.stop_timeout_seconds,
                plan.compose_files,
                plan.env_files,
            )
        if not keep:
            _discard_target(ctx)
    except Unavailable:
        message = f"target agent {address} unreachable: the stack may run there. {then}"
        raise TargetUnknown(message, address, transient=True) from None
    except ControllerError as exc:
        message = f"target stack on {address} not stopped ({exc}): it may run there. {then}"
        raise TargetUnknown(message, address, transient=False) from None


def _discard_target(ctx: StepContext) -> None:
    """The agent stops and removes the migration's deploy, then destroys what carries the
    migration's mark (its snapshots with its datasets)."""
    m = ctx.migration
    result = ctx.target.discard()
    if result.removed:
        ctx.log(f"removed from the target: {', '.join(result.removed)}")
    if result.kept:
        ctx.log(f"kept on the target (not made by this migration): {', '.join(result.kept)}")
    m.snapshots = [s for s in m.snapshots if s.host != "target"]


def _destroy_snapshots(ctx: StepContext, hosts: tuple[str, ...]) -> None:
    """Both phases' snapshots and the converge rounds' (one more: an interrupted round may
    have taken its own) on `hosts`; one already gone is not an error."""
    m = ctx.migration
    rounds = [round_snapshot_name(m, n) for n in range(len(m.converge_rounds) + 1, 0, -1)]
    for name in (snapshot_name(m, 2), *rounds, snapshot_name(m, 1)):
        for host in hosts:
            agent = ctx.source if host == "source" else ctx.target
            for d in m.datasets:
                dataset = d.source_dataset if host == "source" else d.target_dataset
                with contextlib.suppress(NotFound):
                    agent.destroy_snapshot([dataset], name)
    m.snapshots = [s for s in m.snapshots if s.host not in hosts]
