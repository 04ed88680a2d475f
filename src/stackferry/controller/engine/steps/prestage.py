"""Pre-staging, right after the bulk pass (before the converge rounds): what the deploy
needs that can be done while the app still runs, so that after the final delta only the
mounts, the start and the wait for health remain.

The target agent's deploy checks run again (compose CLI and its verdict on the translated
file, the compose directory, the ports: a target can change between validate and the end of
the bulk pass), the images it lacks are copied from the source, and the target stack is
created and not started (DeployStack create_only: `up --no-start`, compose files written,
networks and containers created): the deploy after the stop starts these containers.

The datasets are not mounted for it: received datasets stay unmounted until the deploy
(agent/storage/zfs.py), so that the converge rounds and the final delta receive into a
tree nothing can change. The pre-created stack is the migration's journaled deploy on the
target agent, never started: a failure or cancel before the stop discards it with the rest
(containers and networks by `compose down`, its files), an agent restart before the commit
takes it down (journal reconcile), and the rollback after the stop stops and discards it.
With keep_target_on_failure nothing is pre-created: what a failure keeps on the target is
data only, never containers a later migration of the project would be refused beside.

A failing check fails the migration here, before the stop: the source keeps serving. A
failing pre-create does not: the agent takes it down again (nothing of it is left) and the
deploy after the stop creates the stack, as without a pre-create (logged "not pre-created:
<why>"). Idempotent: a repeated step finds the images present and the containers created
(compose creates nothing again).
"""

from __future__ import annotations

import dataclasses

from stackferry.controller.domain.machine import Action
from stackferry.controller.engine.context import StepContext, StepFailed
from stackferry.controller.engine.steps.compression import wire_compression
from stackferry.controller.engine.steps.stream import stream
from stackferry.controller.planner import deploy_request
from stackferry.hostapi import DeployRequest

# A missing image is not a failure: this step copies it.
COPIED_HERE = "images"


def prestage(ctx: StepContext) -> None:
    m = ctx.migration
    step = Action.BULK_SEND.value
    request = deploy_request(ctx.planner.replan(m), m.spec)
    checks = ctx.target.check_deploy(request)
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
    created = _pre_create(ctx, dataclasses.replace(request, mounts=(), create_only=True))
    ctx.log(
        "pre-staged on the target: deploy checks passed, images present"
        + (", containers created (not started)" if created else ""),
        step,
    )


def _pre_create(ctx: StepContext, request: DeployRequest) -> bool:
    """The target stack created, not started; False when the spec keeps the target."""
    step = Action.BULK_SEND.value
    if ctx.migration.spec.options.keep_target_on_failure:
        ctx.log(
            "containers not pre-created (keep_target_on_failure): the deploy creates them", step
        )
        return False
    result = ctx.target.deploy_stack(request)
    if not result.ok:
        # E.g. a long-syntax bind whose source lies in a dataset not mounted yet: compose
        # refuses a missing bind source. The agent took its failed create down (containers,
        # networks, files), and the deploy after the stop creates the stack as it did before
        # there was a pre-create: a migration that worked without it still does.
        ctx.log(f"not pre-created: {_why(result.error)}; {AFTER_THE_STOP}", step)
        return False
    ctx.log(f"target containers and networks created in {result.up_seconds:.2f} s", step)
    return True


AFTER_THE_STOP = "the deploy after the stop creates the stack"


def _why(error: str) -> str:
    """The line of compose's output that says why: its last ERROR line (compose v1 ends
    with "Encountered errors while bringing up the project."), else its last line."""
    lines = [line.strip() for line in error.splitlines() if line.strip()]
    errors = [line for line in lines if "ERROR" in line or "Error" in line]
    return (errors or lines or ["no error given"])[-1]
