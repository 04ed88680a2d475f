"""The claims a migration holds on its two agents (hostapi.Claim), so that no other
migration, from this controller or any other with its own database, drives the same stack or
writes into the same target at once: the agents refuse it, naming the holder.

Taken at the end of the validation (a refusal fails the migration before anything is
touched), renewed before every forward step, released when the migration ends: the target's
with committed=True before it may complete (verify), both by the undo steps. While a forward
or undo step runs (a bulk send or a deploy may take longer than a claim lives), the driver's
lease renewer renews them every third of CLAIM_TTL_SECONDS. A rollback that ends
NEEDS_ATTENTION leaves the source stopped for a person to look: its claims are taken again
for ATTENTION_TTL_SECONDS, the agent's maximum, so that nobody starts or writes into the
stack until `stackferry resume` ends the migration (and releases them).
"""

from __future__ import annotations

import contextlib
import posixpath

import structlog

from stackferry.compose.paths import is_within
from stackferry.controller.domain.machine import Action
from stackferry.controller.engine.context import StepContext, StepFailed
from stackferry.controller.errors import AlreadyExists, ControllerError
from stackferry.hostapi import Claim, ReleaseResult

log = structlog.get_logger(__name__)

CLAIM_TTL_SECONDS = 900  # asked for explicitly, so the renewal period is known here
ATTENTION_TTL_SECONDS = 7 * 24 * 3600  # the agent's maximum (agent/claims.py MAX_TTL_SECONDS)
# The claims the validation takes only to learn who holds the stack: they lapse soon if the
# release right after fails.
PROBE_TTL_SECONDS = 60

# The forward steps after the validation; the clean-up runs after the commit released them.
HELD_DURING = frozenset(
    {
        Action.SNAPSHOT,
        Action.BULK_SEND,
        Action.STOP_SOURCE,
        Action.FINAL_SNAPSHOT,
        Action.INCREMENTAL_SEND,
        Action.DEPLOY,
        Action.VERIFY,
    }
)
# The undo steps run with the claims of the forward step they follow, and release them.
UNDO = frozenset({Action.ROLLBACK, Action.DISCARD, Action.ROLLBACK_AND_DISCARD})


def source_claim(ctx: StepContext, ttl: int = CLAIM_TTL_SECONDS) -> Claim:
    m = ctx.migration
    return Claim(
        role="source",
        project_name=m.project_name,
        compose_path=m.source_compose_path,
        datasets=tuple(d.source_dataset for d in m.datasets),
        paths=tuple(f.source_path for f in m.files if f.source_path),
        volumes=tuple(f.source_volume for f in m.files if f.source_volume),
        ttl_seconds=ttl,
    )


def target_claim(ctx: StepContext, ttl: int = CLAIM_TTL_SECONDS) -> Claim:
    m = ctx.migration
    plan = ctx.planner.replan(m)
    compose_dir = posixpath.dirname(plan.target_compose_path)
    return Claim(
        role="target",
        project_name=m.project_name,
        compose_path=plan.target_compose_path,
        datasets=tuple(d.target_dataset for d in m.datasets),
        paths=(
            compose_dir,
            *(f.target_path for f in m.files if f.target_path),
            # the carried files the deploy writes outside the compose directory
            *(f.path for f in plan.deploy_files if not is_within(f.path, compose_dir)),
        ),
        volumes=tuple(f.target_volume for f in m.files if f.target_volume),
        ttl_seconds=ttl,
    )


def take(ctx: StepContext, ttl: int = CLAIM_TTL_SECONDS) -> None:
    """The end of the validation: both claims, or none (the source's is dropped again when
    the target refuses) and StepFailed naming the holder."""
    try:
        ctx.source.claim(source_claim(ctx, ttl))
    except AlreadyExists as exc:
        raise StepFailed(f"the stack is taken by another migration: {exc}") from None
    try:
        ctx.target.claim(target_claim(ctx, ttl))
    except ControllerError as exc:
        # Not kept while the validation waits for the target or fails: it would hold the
        # stack for nobody until it expires.
        release_source(ctx)
        if isinstance(exc, AlreadyExists):
            raise StepFailed(f"the target is taken by another migration: {exc}") from None
        raise


def hold(ctx: StepContext) -> None:
    """Takes or renews both claims (the lease renewer renews them from now on while the step
    runs); AlreadyExists (naming the holder) when another migration holds any of their
    resources."""
    with ctx.claims.lock:
        ctx.source.claim(source_claim(ctx))
        ctx.target.claim(target_claim(ctx))
        ctx.claims.sides = {"source", "target"}


def adopt(ctx: StepContext) -> None:
    """An undo step: the claims of the step it follows are renewed until it releases them."""
    with ctx.claims.lock:
        ctx.claims.sides = {"source", "target"}


def renew(ctx: StepContext) -> None:
    """From the lease renewer's thread: renews the claims the running step still holds. A
    failure is logged; the next renewal, a third of the TTL later, tries again."""
    with ctx.claims.lock:
        for side in sorted(ctx.claims.sides):
            agent, claim = (
                (ctx.source, source_claim(ctx))
                if side == "source"
                else (ctx.target, target_claim(ctx))
            )
            try:
                agent.claim(claim)
            except ControllerError as exc:
                log.warning("claim not renewed", side=side, error=str(exc))


def park(ctx: StepContext, target_answers: bool) -> None:
    """NEEDS_ATTENTION: the claims for ATTENTION_TTL_SECONDS (the source stays stopped until
    a person resumes); the target's only if it answers (an unreachable one is not waited for
    again); an agent that does not answer keeps the claim it has."""
    with ctx.claims.lock:
        ctx.claims.sides = set()
        parked = [(ctx.source, source_claim(ctx, ATTENTION_TTL_SECONDS))]
        if target_answers:
            parked.append((ctx.target, target_claim(ctx, ATTENTION_TTL_SECONDS)))
        for agent, claim in parked:
            with contextlib.suppress(ControllerError):
                agent.claim(claim)


def _forget(ctx: StepContext, side: str) -> None:
    with ctx.claims.lock:
        ctx.claims.sides.discard(side)


def commit_target(ctx: StepContext) -> ReleaseResult:
    """The target's release with committed=True (the deploy stays through agent restarts)."""
    _forget(ctx, "target")
    return ctx.target.release(committed=True)


def release_source(ctx: StepContext) -> None:
    """Drops the source's claim; one that cannot be dropped now expires by itself."""
    _forget(ctx, "source")
    try:
        ctx.source.release(committed=False)
    except ControllerError as exc:
        ctx.log(f"claim on the source not released ({exc}): it expires by itself")


def release_target(ctx: StepContext) -> None:
    _forget(ctx, "target")
    try:
        ctx.target.release(committed=False)
    except ControllerError as exc:
        ctx.log(f"claim on the target not released ({exc}): it expires by itself")
