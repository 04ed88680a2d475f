"""The steps that move the service: stop the source, deploy on the target, verify it serves
and commit the deploy.

Downtime runs from the moment the stop was asked for (`source_stopped_at`, saved before the
stop) to the moment the first deploy that succeeded saw every service ready
(`target_serving_at`); a repeated step keeps both, so a restart of the controller does not
reset the figure.
"""

from __future__ import annotations

import dataclasses
import time

from stackferry.controller.domain.downtime import DowntimeBreakdown
from stackferry.controller.domain.machine import Action
from stackferry.controller.domain.model import Migration
from stackferry.controller.engine import claims
from stackferry.controller.engine.context import StepContext, StepFailed
from stackferry.controller.planner import deploy_request
from stackferry.hostapi import DeployResult


def stop_source(ctx: StepContext) -> None:
    m = ctx.migration
    if m.source_stopped_at is None:
        m.source_stopped_at = time.time()
        ctx.save()
    timeout = m.spec.options.stop_timeout_seconds  # 0: each service's stop_grace_period
    project = m.source_project
    stopped = ctx.source.stop_stack(
        m.project_name, m.source_compose_path, timeout, project.compose_files, project.env_files
    )
    step = Action.STOP_SOURCE.value
    for outcome in stopped.stops:
        ctx.log(outcome.describe(), step)
    killed = [o.describe() for o in stopped.stops if o.killed]
    ctx.log(
        f"source stopped in {stopped.stop_seconds:.1f} s"
        + (
            f"; killed before they finished (crash-consistent data): {'; '.join(killed)}"
            if killed
            else ""
        ),
        step,
    )


def deploy(ctx: StepContext) -> None:
    """Deploys (the images and checks were done before the stop, steps/prestage.py): the
    agent mounts, starts the stack (the pre-created containers through the engine when the
    request is the pre-create's, else compose up), waits (up to the verify timeout) until
    every service is ready, and undoes a deploy that does not get there. The target serves
    from the moment every service was first seen ready; the agent's settle watch after it
    is not downtime."""
    m = ctx.migration
    request = deploy_request(ctx.planner.replan(m), m.spec)
    result = ctx.target.deploy_stack(request)
    if not result.ok:
        logs = "; ".join(f"{name}: {text.strip()[-300:]}" for name, text in result.logs.items())
        raise StepFailed(
            f"deploy on target failed: {result.error}" + (f" ({logs})" if logs else "")
        )
    how = (
        "the pre-created containers started through the engine in compose's start order"
        if result.started_created
        else "compose up"
    )
    ctx.log(f"{how} in {result.up_seconds:.2f} s", Action.DEPLOY.value)
    if m.target_serving_at is None:
        m.target_serving_at = time.time() - result.settle_seconds
        if m.source_stopped_at is not None:
            m.downtime_seconds = m.target_serving_at - m.source_stopped_at
            m.downtime_report = _breakdown(m, result)


def _breakdown(m: Migration, result: DeployResult) -> DowntimeBreakdown:
    """The downtime's parts: the steps' recorded times, and the agent's own timing of the
    deploy (compose up, then up done -> first ready)."""
    assert m.target_serving_at is not None and m.downtime_seconds is not None

    def seconds(action: Action) -> float:
        step = m.step(action)
        if step.started_at is None or step.ended_at is None:
            return 0.0
        return step.ended_at - step.started_at

    deploy_started = m.step(Action.DEPLOY).started_at or m.target_serving_at
    stop_ended = m.step(Action.STOP_SOURCE).ended_at
    start_to_healthy = result.ready_seconds
    return dataclasses.replace(
        m.downtime_report,
        downtime_seconds=m.downtime_seconds,
        # from the stop asked for (the step opened a moment before) to the stop step's end
        stop_seconds=stop_ended - m.source_stopped_at
        if stop_ended and m.source_stopped_at
        else 0.0,
        final_snapshot_seconds=seconds(Action.FINAL_SNAPSHOT),
        final_transfer_seconds=seconds(Action.INCREMENTAL_SEND),
        deploy_seconds=max(0.0, m.target_serving_at - deploy_started - start_to_healthy),
        start_to_healthy_seconds=start_to_healthy,
    )


def verify(ctx: StepContext) -> None:
    """One look at the target stack the deploy waited for: every service it started has
    containers, each ready and none crashed since (stopped, restarting, restarted, unhealthy)."""
    m = ctx.migration
    plan = ctx.planner.replan(m)
    stack = ctx.target.inspect_stack(
        plan.target_compose_path, m.project_name, plan.compose_files, plan.env_files
    )
    bad = [
        f"{s.name}: {c.describe()}"
        for s in stack.services
        for c in s.containers
        if c.failed or not c.ready
    ]
    # Only what the deploy started must run: a service stopped on the source stays stopped.
    deployed = set(plan.services)
    bad += [
        f"{s.name}: no container"
        for s in stack.services
        if not s.containers and (not deployed or s.name in deployed)
    ]
    if bad:
        raise StepFailed(f"target not serving: {', '.join(bad)}")
    commit(ctx)


def commit(ctx: StepContext) -> None:
    """The target agent marks the deploy committed (a restart of that agent keeps it from now
    on) and drops the claims; before that, a restart removes it. Not in place any more: it
    was removed, so the migration must not complete but roll back. A cancel saved before it
    is followed instead (Interrupted): once committed, the target's discard keeps the deploy.
    """
    ctx.check_cancel()
    if not claims.commit_target(ctx).deploy_live:
        raise StepFailed(
            "the target agent no longer has the deploy (it restarted before the commit "
            "and removed it)"
        )
    claims.release_source(ctx)
