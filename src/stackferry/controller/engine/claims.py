"""The claims a migration holds on its two agents (hostapi.Claim), so that no other
migration, from this controller or any other with its own database, drives the same stack or
writes into the same target at once: the agents refuse it, naming the holder.

Taken at the end of the validation (a refusal fails the migration before anything is
touched), renewed before every forward step, released when the migration ends: the target's
with committed=True before it may complete (verify), both by the undo steps.
"""

from __future__ import annotations

import posixpath

import structlog

from stackferry.controller.domain.machine import Action
from stackferry.controller.engine.context import StepContext, StepFailed
from stackferry.controller.errors import AlreadyExists, ControllerError
from stackferry.hostapi import Claim

log = structlog.get_logger(__name__)

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


def source_claim(ctx: StepContext) -> Claim:
    m = ctx.migration
    return Claim(
        role="source",
        project_name=m.project_name,
        compose_path=m.spec.compose_path,
        datasets=tuple(d.source_dataset for d in m.datasets),
        paths=tuple(f.source_path for f in m.files if f.source_path),
        volumes=tuple(f.source_volume for f in m.files if f.source_volume),
    )


def target_claim(ctx: StepContext) -> Claim:
    m = ctx.migration
    compose_path = ctx.planner.replan(m).target_compose_path
    return Claim(
        role="target",
        project_name=m.project_name,
        compose_path=compose_path,
        datasets=tuple(d.target_dataset for d in m.datasets),
        paths=(
            posixpath.dirname(compose_path),
            *(f.target_path for f in m.files if f.target_path),
        ),
        volumes=tuple(f.target_volume for f in m.files if f.target_volume),
    )


def take(ctx: StepContext) -> None:
    """The end of the validation: both claims, or none (the source's is dropped again when
    the target refuses) and StepFailed naming the holder."""
    try:
        ctx.source.claim(source_claim(ctx))
    except AlreadyExists as exc:
        raise StepFailed(f"the stack is taken by another migration: {exc}") from None
    try:
        ctx.target.claim(target_claim(ctx))
    except ControllerError as exc:
        # Not kept while the validation waits for the target or fails: it would hold the
        # stack for nobody until it expires.
        release_source(ctx)
        if isinstance(exc, AlreadyExists):
            raise StepFailed(f"the target is taken by another migration: {exc}") from None
        raise


def hold(ctx: StepContext) -> None:
    """Takes or renews both claims; AlreadyExists (naming the holder) when another migration
    holds any of their resources."""
    ctx.source.claim(source_claim(ctx))
    ctx.target.claim(target_claim(ctx))


def release_source(ctx: StepContext) -> None:
    """Drops the source's claim; one that cannot be dropped now expires by itself."""
    try:
        ctx.source.release(committed=False)
    except ControllerError as exc:
        ctx.log(f"claim on the source not released ({exc}): it expires by itself")


def release_target(ctx: StepContext) -> None:
    try:
        ctx.target.release(committed=False)
    except ControllerError as exc:
        ctx.log(f"claim on the target not released ({exc}): it expires by itself")
