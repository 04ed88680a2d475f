"""The steps that move the service: stop the source, deploy on the target, verify it serves
and commit the deploy.

Downtime runs from the moment the stop was asked for (`source_stopped_at`, saved before the
stop) to the end of the first deploy that succeeded (`target_serving_at`); a repeated step
keeps both, so a restart of the controller does not reset the figure.
"""

from __future__ import annotations

import time

from stackferry.controller.domain.machine import Action
from stackferry.controller.engine import claims
from stackferry.controller.engine.context import StepContext, StepFailed
from stackferry.controller.engine.steps.send import stream
from stackferry.controller.planner import deploy_request


def stop_source(ctx: StepContext) -> None:
    m = ctx.migration
    if m.source_stopped_at is None:
        m.source_stopped_at = time.time()
        ctx.save()
    ctx.source.stop_stack(m.project_name, m.spec.compose_path, ctx.timings.stop_timeout_seconds)


def deploy(ctx: StepContext) -> None:
    """Copies the images the target lacks, then deploys: the agent waits (up to the verify
    timeout) until every service is ready, and undoes a deploy that does not get there."""
    m = ctx.migration
    request = deploy_request(ctx.planner.replan(m), m.spec)
    checks = ctx.target.check_deploy(request)
    if checks.missing_images:
        ctx.log(f"copying images {', '.join(checks.missing_images)}", Action.DEPLOY.value)
        limit = m.spec.options.bandwidth_limit_bytes_per_second
        call = ctx.source.push_images(checks.missing_images, ctx.target, limit)
        m.bytes_transferred += stream(ctx, Action.DEPLOY, call).bytes
    result = ctx.target.deploy_stack(request)
    if not result.ok:
        logs = "; ".join(f"{name}: {text.strip()[-300:]}" for name, text in result.logs.items())
        raise StepFailed(
            f"deploy on target failed: {result.error}" + (f" ({logs})" if logs else "")
        )
    if m.target_serving_at is None:
        m.target_serving_at = time.time()
    if m.source_stopped_at is not None:
        m.downtime_seconds = m.target_serving_at - m.source_stopped_at


def verify(ctx: StepContext) -> None:
    """One look at the target stack the deploy waited for: every service has containers,
    each ready and none crashed since (stopped, restarting, restarted, unhealthy)."""
    m = ctx.migration
    stack = ctx.target.inspect_stack(ctx.planner.replan(m).target_compose_path, m.project_name)
    bad = [
        f"{s.name}: {c.describe()}"
        for s in stack.services
        for c in s.containers
        if c.failed or not c.ready
    ]
    bad += [f"{s.name}: no container" for s in stack.services if not s.containers]
    if bad:
        raise StepFailed(f"target not serving: {', '.join(bad)}")
    commit(ctx)


def commit(ctx: StepContext) -> None:
    """The target agent marks the deploy committed (a restart of that agent keeps it from now
    on) and drops the claims; before that, a restart removes it. Not in place any more: it
    was removed, so the migration must not complete but roll back."""
    if not ctx.target.release(committed=True).deploy_live:
        raise StepFailed(
            "the target agent no longer has the deploy (it restarted before the commit "
            "and removed it)"
        )
    claims.release_source(ctx)
