"""Converge rounds: after the bulk pass, while the app still runs, incremental passes (zfs
and the file trees) one after the other, each from the last one's snapshot, so that the
delta left for the stop is small. They end by the migration's ConvergePolicy
(domain/downtime.py); each round is recorded (its delta and seconds) and shown in the status.

Idempotent: a round is recorded once its passes are done; a repeated step continues after
the last recorded round, reusing a snapshot an interrupted round took.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from stackferry.controller.domain.downtime import ConvergePolicy, ConvergeRound
from stackferry.controller.domain.machine import Action
from stackferry.controller.domain.model import live_base_name, round_snapshot_name
from stackferry.controller.engine.context import StepContext
from stackferry.controller.engine.steps.prepare import take_snapshots

LivePass = Callable[[StepContext, str, str], None]  # (ctx, snapshot name, base name)


def converge(ctx: StepContext, live_pass: LivePass) -> None:
    """Rounds of `live_pass` until the policy says the delta left is small enough."""
    m = ctx.migration
    options = m.spec.options
    policy = ConvergePolicy(options.converge_max_rounds, options.converge_target_seconds)
    rate = m.downtime_report.link_rate_bytes_per_second
    while not (why := policy.done(m.converge_rounds, rate)):
        number = len(m.converge_rounds) + 1
        name, base = round_snapshot_name(m, number), live_base_name(m)
        started = time.monotonic()
        take_snapshots(ctx, name, Action.BULK_SEND.value)
        before = m.bytes_transferred
        live_pass(ctx, name, base)
        round_ = ConvergeRound(number, m.bytes_transferred - before, time.monotonic() - started)
        m.converge_rounds.append(round_)
        ctx.save()
        ctx.log(
            f"converge round {number}: {round_.bytes} bytes in {round_.seconds:.2f} s",
            Action.BULK_SEND.value,
            bytes_done=round_.bytes,
        )
    if policy.max_rounds:
        ctx.log(f"converged after {len(m.converge_rounds)} rounds: {why}", Action.BULK_SEND.value)
