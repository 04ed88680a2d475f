"""Following one agent-to-agent stream (zfs, files, images) from a step."""

from __future__ import annotations

import time

from stackferry.controller.domain.machine import Action
from stackferry.controller.engine.context import Interrupted, StepContext, StepFailed
from stackferry.controller.ports import TransferCall
from stackferry.hostapi import TransferProgress, TransferResult


def stream(ctx: StepContext, action: Action, call: TransferCall) -> TransferResult:
    """Follows one agent-to-agent stream into the step's bytes, recording progress at most
    once per `timings.progress_seconds` (and then checking for a cancel)."""
    step = ctx.migration.step(action)
    done_before = step.bytes_done
    last_save = time.monotonic()
    finished = False
    with ctx.interruption.cutting(call):
        try:
            for event in call:
                if isinstance(event, TransferResult):
                    finished = True
                    step.bytes_done = done_before + event.bytes
                    ctx.progress(step, check_cancel=False)
                    return event
                assert isinstance(event, TransferProgress)
                step.bytes_done = done_before + event.bytes_done
                step.bytes_expected = max(step.bytes_expected, step.bytes_done)
                if time.monotonic() - last_save >= ctx.timings.progress_seconds:
                    last_save = time.monotonic()
                    ctx.progress(step)
        finally:
            if not finished:
                call.cancel()
    if ctx.interruption.is_set():
        raise Interrupted()
    raise StepFailed(f"{action.value}: the stream ended without a result")
