"""The file passes: every tree the zfs mover cannot take (a plain directory, a named volume)
copied agent to agent by rsync's protocol, next to the zfs sends of the same phase.

Phase 1 runs while the app is up (a bulk pass); after the stop the final pass sends only what
changed (new and changed files, deletions, modes and owners), and then both agents' manifests
of every tree must be equal before the migration may go on. Each pass is idempotent: a
repeated one sends the difference again. A named volume is created on the target (same name,
driver, options and labels, marked with the migration) before its first pass.
"""

from __future__ import annotations

import dataclasses

from stackferry.controller.domain.machine import Action
from stackferry.controller.domain.model import FileMove
from stackferry.controller.engine.context import StepContext, StepFailed
from stackferry.controller.engine.steps.parallel import OpenCall, follow_all
from stackferry.controller.engine.tickets import files_key
from stackferry.hostapi import FileTransfer, FileTree, TransferResult, VolumeSpec


def source_tree(move: FileMove) -> FileTree:
    return FileTree(volume=move.source_volume) if move.source_volume else FileTree(move.source_path)


def target_tree(move: FileMove) -> FileTree:
    return FileTree(volume=move.target_volume) if move.target_volume else FileTree(move.target_path)


def file_passes(ctx: StepContext, action: Action, final: bool) -> None:
    """One pass of every tree; the final one runs the trees in parallel (the app is down:
    `final_parallelism` at a time, as the zfs deltas) and is verified by manifest."""
    m = ctx.migration
    if not m.files:
        return
    options = m.spec.options
    step = m.step(action)
    if not final:  # a tree's first pass moves about its size; a later one its difference
        step.bytes_expected += sum(f.estimated_bytes for f in m.files if not f.bytes_moved)
    opens: list[OpenCall] = []
    for move in m.files:
        if move.target_volume:
            ctx.target.create_volume(
                VolumeSpec(
                    move.target_volume,
                    move.volume_driver or "local",
                    dict(move.volume_options),
                    dict(move.volume_labels),
                ),
                allow_overwrite=options.allow_overwrite,
            )
        transfer = FileTransfer(
            source_tree(move),
            target_tree(move),
            bandwidth_limit=options.bandwidth_limit_bytes_per_second,
            allow_overwrite=options.allow_overwrite,
            final=final,  # the stack is stopped: a file vanishing under this pass fails it
        )
        ctx.log(f"{'final' if final else 'bulk'} file pass: {move.name}", action.value)
        ticket = ctx.tickets.take(files_key(m, move)) if final else ""  # asked before the stop
        opens.append(_opener(ctx, transfer, ticket))

    def on_result(index: int, result: TransferResult) -> None:
        move = m.files[index]
        m.files[index] = dataclasses.replace(move, bytes_moved=move.bytes_moved + result.bytes)
        m.moved("files", result.bytes)
        ctx.save()

    follow_all(ctx, action, opens, on_result, options.final_parallelism if final else 1)
    if final:
        verify_trees(ctx, action)


def _opener(ctx: StepContext, transfer: FileTransfer, ticket: str) -> OpenCall:
    return lambda: ctx.source.push_files(transfer, ctx.target, ticket)


def verify_trees(ctx: StepContext, action: Action) -> None:
    """Equal manifests on both hosts (the source is stopped by now), or the data did not
    arrive whole and the migration must not go on."""
    different = []
    for move in ctx.migration.files:
        source = ctx.source.file_manifest(source_tree(move))
        target = ctx.target.file_manifest(target_tree(move))
        if source.digest != target.digest:
            different.append(
                f"{move.name}: {source.files} entries / {source.bytes} bytes on the source, "
                f"{target.files} / {target.bytes} on the target"
            )
    if different:
        raise StepFailed(f"the trees differ after the final pass: {'; '.join(different)}")
    ctx.log(f"{len(ctx.migration.files)} file trees verified (manifests equal)", action.value)
