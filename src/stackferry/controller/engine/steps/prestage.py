"""Pre-staging, right after the bulk pass (before the converge rounds): what the deploy
needs that can be done while the app still runs, so that after the final delta only the
mounts, the start and the wait for health remain.

The target agent's deploy checks run again (compose CLI and its verdict on the translated
file, the compose directory, the ports: a target can change between validate and the end of
the bulk pass), and the images it lacks are copied from the source. A failing check fails
the migration here, before the stop: the source keeps serving and the discard removes what
was received. Idempotent: a repeated step finds the images present and copies nothing.
"""

from __future__ import annotations

from stackferry.controller.domain.machine import Action
from stackferry.controller.engine.context import StepContext, StepFailed
from stackferry.controller.engine.steps.compression import wire_compression
from stackferry.controller.engine.steps.stream import stream
from stackferry.controller.planner import deploy_request

# A missing image is not a failure: this step copies it.
COPIED_HERE = "images"


def prestage(ctx: StepContext) -> None:
    m = ctx.migration
    step = Action.BULK_SEND.value
    checks = ctx.target.check_deploy(deploy_request(ctx.planner.replan(m), m.spec))
    failed = [c for c in checks.checks if not c.ok and c.name != COPIED_HERE]
    if failed:
        details = "; ".join(f"{c.name}: {c.detail}" for c in failed)
        raise StepFailed(f"the target refuses the deploy (checked before the stop): {details}")
    if checks.missing_images:
        ctx.log(f"copying images before the stop: {', '.join(checks.missing_images)}", step)
        options = m.spec.options
        call = ctx.source.push_images(
            checks.missing_images,
            ctx.target,
            options.bandwidth_limit_bytes_per_second,
            wire_compression(ctx, say=False),  # said at the bulk pass
        )
        m.moved("images", stream(ctx, Action.BULK_SEND, call).bytes)
        ctx.save()
    ctx.log("pre-staged on the target: deploy checks passed, images present", step)
