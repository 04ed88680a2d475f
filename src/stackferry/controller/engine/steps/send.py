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
from stackferry.controller.domain.model import (
    DatasetPlan,
    SnapshotRecord,
    live_base_name,
    snapshot_name,
)
from stackferry.controller.domain.progress import incremental_estimate
from stackferry.controller.engine.context import StepContext
from stackferry.controller.engine.steps.compression import wire_compression
from stackferry.controller.engine.steps.converge import converge
from stackferry.controller.engine.steps.files import file_passes
from stackferry.controller.engine.steps.final_tickets import prepare_final_tickets
from stackferry.controller.engine.steps.parallel import OpenCall, follow_all
from stackferry.controller.engine.steps.prestage import prestage
from stackferry.controller.engine.steps.stream import stream
from stackferry.controller.engine.tickets import zfs_key
from stackferry.controller.errors import NotFound
from stackferry.hostapi import TransferResult, ZfsTransfer

__all__ = ["bulk_send", "incremental_send", "stream"]


def bulk_send(ctx: StepContext) -> None:
    """The zfs bulk sends, the bulk file pass, what can be made ready on the target before
    the stop, then the converge rounds, the last one right before the stop (the app still
    runs throughout)."""
    m = ctx.migration
    _restart_counts(ctx, Action.BULK_SEND)
    started, before = time.monotonic(), m.bytes_transferred
    live_pass(ctx, snapshot_name(m, 1), "")
    if m.bytes_transferred > before:  # the link rate the converge rounds and floor use
        m.live_stream(m.bytes_transferred - before, time.monotonic() - started)
    prestage(ctx)
    converge(ctx, live_pass)
    prepare_final_tickets(ctx)


def live_pass(ctx: StepContext, name: str, base: str) -> None:
    """One pass while the app runs: snapshots `name` sent (from `base`), the file trees."""
    send_snapshots(ctx, Action.BULK_SEND, name, base)
    file_passes(ctx, Action.BULK_SEND, final=False)


def incremental_send(ctx: StepContext) -> None:
    """The zfs deltas from the last live snapshot, the datasets in parallel, then the final
    file pass, verified (the app is stopped)."""
    m = ctx.migration
    _restart_counts(ctx, Action.INCREMENTAL_SEND)
    parallelism = m.spec.options.final_parallelism
    sent = send_snapshots(
        ctx, Action.INCREMENTAL_SEND, snapshot_name(m, 2), live_base_name(m), parallelism
    )
    before = m.bytes_transferred
    file_passes(ctx, Action.INCREMENTAL_SEND, final=True)
    delta = sent + m.bytes_transferred - before
    m.downtime_report = dataclasses.replace(m.downtime_report, final_delta_bytes=delta)


def _restart_counts(ctx: StepContext, action: Action) -> None:
    """A step's bytes count from 0 at each attempt (the passes of the step add theirs)."""
    step = ctx.migration.step(action)
    step.bytes_done = step.bytes_expected = 0


def send_snapshots(
    ctx: StepContext, action: Action, name: str, base: str, parallelism: int = 1
) -> int:
    """Sends `name` of every dataset (incremental from `base` unless ""), `parallelism` at
    a time; the stream bytes the target received."""
    m = ctx.migration
    resumable = _resumable(ctx)
    zfs_compressed = _both_have(ctx, "compressed")
    # Said once for the live passes (at the bulk pass) and once after the stop.
    compression = wire_compression(ctx, action.value, say=not base or action != Action.BULK_SEND)
    todo: list[tuple[DatasetPlan, ZfsTransfer, str]] = []  # with the ticket prepared for it
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
            compression=compression,
            zfs_compressed=zfs_compressed,
        )
        # After the stop: the ticket asked for while the app ran (none for a resumed stream).
        final = action == Action.INCREMENTAL_SEND and not token
        ticket = ctx.tickets.take(zfs_key(m, d.target_dataset, transfer.base_guid)) if final else ""
        todo.append((d, transfer, ticket))
    step = m.step(action)
    step.bytes_expected += sum(t.bytes_expected for _, t, _ in todo)
    received = 0

    def opener(transfer: ZfsTransfer, ticket: str) -> OpenCall:
        return lambda: ctx.source.push_zfs(transfer, ctx.target, ticket)

    def on_result(i: int, result: TransferResult) -> None:
        nonlocal received
        d = todo[i][0]
        guid = result.received_guid or m.snapshot_guid("source", d.source_dataset, name)
        m.remember(SnapshotRecord("target", d.target_dataset, name, guid, time.time()))
        m.moved("zfs", result.bytes)
        received += result.bytes
        index = m.datasets.index(d)
        m.datasets[index] = dataclasses.replace(d, bytes_moved=d.bytes_moved + result.bytes)
        ctx.save()

    if parallelism > 1 and len(todo) > 1:
        follow_all(ctx, action, [opener(t, k) for _, t, k in todo], on_result, parallelism)
    else:
        for i, (_, transfer, ticket) in enumerate(todo):
            on_result(i, stream(ctx, action, opener(transfer, ticket)()))
    return received


def _already_received(ctx: StepContext, d: DatasetPlan, name: str, guid: str) -> bool:
    try:
        held = ctx.target.list_snapshots([d.target_dataset], name)
    except NotFound:
        return False
    return any(s.guid == guid for s in held)


def _resumable(ctx: StepContext) -> bool:
    """Both agents' zfs can resume a cut stream: then a cut stream keeps its partial
    receive, and a retry continues it."""
    return _both_have(ctx, "resume")


def _both_have(ctx: StepContext, feature: str) -> bool:
    """Both agents' storage has ``feature`` ("compressed": a send -c stream is only
    received by an OpenZFS that has it too)."""
    return all(
        agent.info().storage_features.get(feature, False) for agent in (ctx.source, ctx.target)
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
