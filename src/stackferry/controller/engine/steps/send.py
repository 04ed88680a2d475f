"""The copy steps: each source snapshot streamed agent to agent into the target, then the
file passes of the trees off ZFS (steps/files.py).

Idempotent: a snapshot the target already holds (same GUID) is not sent again, and where
both agents' zfs can resume a cut stream (OpenZFS `receive -s` / `send -t`; not zfs-fuse)
a retry continues the partial receive an earlier attempt left instead of starting over.
"""

from __future__ import annotations

import dataclasses
import time

from stackferry.controller.domain.machine import Action
from stackferry.controller.domain.model import DatasetPlan, SnapshotRecord, snapshot_name
from stackferry.controller.domain.progress import incremental_estimate
from stackferry.controller.engine.context import StepContext
from stackferry.controller.engine.steps.files import file_passes
from stackferry.controller.engine.steps.stream import stream
from stackferry.controller.errors import NotFound
from stackferry.hostapi import ZfsTransfer

__all__ = ["bulk_send", "incremental_send", "stream"]


def bulk_send(ctx: StepContext) -> None:
    """The zfs bulk sends, then the bulk file pass (the app still runs)."""
    _send(ctx, Action.BULK_SEND, phase=1)
    file_passes(ctx, Action.BULK_SEND, final=False)


def incremental_send(ctx: StepContext) -> None:
    """The zfs deltas, then the final file pass, verified (the app is stopped)."""
    _send(ctx, Action.INCREMENTAL_SEND, phase=2)
    file_passes(ctx, Action.INCREMENTAL_SEND, final=True)


def _send(ctx: StepContext, action: Action, phase: int) -> None:
    m = ctx.migration
    name = snapshot_name(m, phase)
    base = snapshot_name(m, phase - 1) if phase > 1 else ""
    resumable = _resumable(ctx)
    todo: list[tuple[DatasetPlan, ZfsTransfer]] = []
    for d in m.datasets:
        guid = m.snapshot_guid("source", d.source_dataset, name)
        if _already_received(ctx, d, name, guid):
            m.remember(SnapshotRecord("target", d.target_dataset, name, guid))
            ctx.log(f"{d.target_dataset}@{name} already received: skipped", action.value)
            continue
        snapshot = f"{d.source_dataset}@{name}"
        base_snapshot = f"{d.source_dataset}@{base}" if base else ""
        expected = _estimate(ctx, snapshot, base_snapshot, action)
        token = _resume_token(ctx, d.target_dataset) if resumable else ""
        if token:
            left = ctx.source.estimate_send(snapshot, "", token).bytes
            at = max(0, expected - left)
            ctx.log(
                f"{d.target_dataset}: resuming transfer at byte {at} ({left} bytes left to send)",
                action.value,
                bytes_done=at,
                bytes_expected=expected,
            )
            expected = left
        transfer = ZfsTransfer(
            snapshot=snapshot,
            target_dataset=d.target_dataset,
            base_snapshot=base_snapshot,
            base_guid=m.snapshot_guid("source", d.source_dataset, base) if base else "",
            bytes_expected=expected,
            bandwidth_limit=m.spec.options.bandwidth_limit_bytes_per_second,
            resumable=resumable,
            resume_token=token,
        )
        todo.append((d, transfer))
    step = m.step(action)
    step.bytes_done, step.bytes_expected = 0, sum(t.bytes_expected for _, t in todo)
    for d, transfer in todo:
        result = stream(ctx, action, ctx.source.push_zfs(transfer, ctx.target))
        guid = result.received_guid or m.snapshot_guid("source", d.source_dataset, name)
        m.remember(SnapshotRecord("target", d.target_dataset, name, guid, time.time()))
        m.bytes_transferred += result.bytes
        index = m.datasets.index(d)
        m.datasets[index] = dataclasses.replace(d, bytes_moved=d.bytes_moved + result.bytes)
        ctx.save()


def _already_received(ctx: StepContext, d: DatasetPlan, name: str, guid: str) -> bool:
    try:
        held = ctx.target.list_snapshots([d.target_dataset], name)
    except NotFound:
        return False
    return any(s.guid == guid for s in held)


def _resumable(ctx: StepContext) -> bool:
    """Both agents' zfs can resume a cut stream: then a cut stream keeps its partial
    receive, and a retry continues it."""
    return all(
        agent.info().storage_features.get("resume", False) for agent in (ctx.source, ctx.target)
    )


def _resume_token(ctx: StepContext, target_dataset: str) -> str:
    """The token of the partial receive an earlier, cut attempt left on the target."""
    try:
        infos = ctx.target.get_datasets([target_dataset])
    except NotFound:
        return ""
    return next((i.receive_resume_token for i in infos if i.name == target_dataset), "")


def _estimate(ctx: StepContext, snapshot: str, base_snapshot: str, action: Action) -> int:
    """The agent's estimate; for an incremental it has no dry run for, the delta computed
    from the two snapshots' sizes (see domain/progress.py incremental_estimate)."""
    reported = ctx.source.estimate_send(snapshot, base_snapshot)
    expected, how = reported.bytes, reported.method
    if base_snapshot and not reported.is_dry_run:
        dataset, _, base = base_snapshot.partition("@")
        name = snapshot.partition("@")[2]
        infos = ctx.source.list_snapshots([dataset], base)
        infos += ctx.source.list_snapshots([dataset], name)
        if len(infos) == 2:
            expected, how = incremental_estimate(reported, *infos)
    ctx.log(f"{snapshot}: about {expected} bytes to send ({how})", action.value)
    return expected
