"""How far a migration is: a pure view computed from the stored migration.

Overall progress weighs each step by its usual share of the wall time; the bulk copy
dominates. Rate and ETA come from the running step's bytes and start time, so any
controller replica (not only the driver) reports the same figures. Bytes done are exact (what
the streams moved); bytes expected are the agents' estimates until a step ends, then what it
moved.
"""

from __future__ import annotations

from dataclasses import dataclass

from stackferry.controller.domain.machine import Action
from stackferry.controller.domain.model import Migration, MigrationState, Step, StepState
from stackferry.hostapi import SendEstimate, SnapshotInfo

STEP_WEIGHTS: dict[str, float] = {
    Action.VALIDATE: 2,
    Action.SNAPSHOT: 2,
    Action.BULK_SEND: 70,
    Action.STOP_SOURCE: 3,
    Action.FINAL_SNAPSHOT: 2,
    Action.INCREMENTAL_SEND: 10,
    Action.DEPLOY: 8,
    Action.VERIFY: 2,
    Action.CLEANUP: 1,
}


@dataclass(frozen=True)
class MigrationStatus:
    id: str
    state: MigrationState
    progress_percent: float
    current_step: str
    step: Step | None
    bytes_done: int
    bytes_expected: int
    rate_bytes_per_second: float
    eta_seconds: float | None  # None when unknown
    error: str
    downtime_seconds: float | None  # None until the target serves
    waiting: str = ""  # Migration.waiting: the agent the driver waits for, and until when


def _fraction(step: Step) -> float:
    if step.state == StepState.DONE:
        return 1.0
    if step.state == StepState.RUNNING and step.bytes_expected > 0:
        return min(step.bytes_done / step.bytes_expected, 1.0)
    return 0.0


def _expected(step: Step) -> int:
    if step.state == StepState.DONE:
        return step.bytes_done
    return max(step.bytes_expected, step.bytes_done)


SNAPSHOT_DELTA = "approximate: snapshot sizes"


def incremental_estimate(
    reported: SendEstimate, base: SnapshotInfo, new: SnapshotInfo
) -> tuple[int, str]:
    """Bytes an incremental send from `base` to `new` should stream, and how they were found.

    A dry run (`zfs send -nvP`) is taken as it is; so is a properties figure below `new`'s
    `referenced`, which is `written@base`. Otherwise the agent fell back to `new`'s whole
    `referenced` (zfs-fuse has neither), the size of a full send, not of the delta. Then:
    written since base = referenced(new) - referenced(base) + bytes freed since base, and
    used(base) (blocks only base still holds) is the part of the freed bytes that can be
    read. These are on-disk sizes (compression, block rounding), not stream bytes: the figure
    is approximate, clamped at zero, and the step's expectation grows with the bytes the
    stream actually moves.
    """
    if reported.is_dry_run or reported.bytes < new.referenced_bytes:
        return reported.bytes, reported.method
    delta = new.referenced_bytes - base.referenced_bytes + base.used_bytes
    return max(delta, 0), SNAPSHOT_DELTA


def current_step(migration: Migration) -> Step | None:
    """The step that runs now, else the last one that ran."""
    running = [s for s in migration.steps if s.state == StepState.RUNNING]
    if running:
        return running[-1]
    return migration.steps[-1] if migration.steps else None


def status_of(migration: Migration, now: float) -> MigrationStatus:
    if migration.state == MigrationState.COMPLETED:
        percent = 100.0
    else:
        total = sum(STEP_WEIGHTS.values())
        done = sum(
            STEP_WEIGHTS.get(s.name, 0) * _fraction(s)
            for s in migration.steps
            if s.name in STEP_WEIGHTS
        )
        percent = round(100.0 * done / total, 1)
    step = current_step(migration)
    rate = 0.0
    eta: float | None = None
    if step is not None and step.state == StepState.RUNNING and step.started_at is not None:
        elapsed = now - step.started_at
        if elapsed > 0 and step.bytes_done > 0:
            rate = step.bytes_done / elapsed
            if step.bytes_expected > step.bytes_done:
                eta = (step.bytes_expected - step.bytes_done) / rate
    bytes_done = sum(s.bytes_done for s in migration.steps)
    bytes_expected = sum(_expected(s) for s in migration.steps)
    return MigrationStatus(
        id=migration.id,
        state=migration.state,
        progress_percent=percent,
        current_step=step.name if step is not None else "",
        step=step,
        bytes_done=bytes_done,
        bytes_expected=bytes_expected,
        rate_bytes_per_second=rate,
        eta_seconds=eta,
        error=migration.error,
        downtime_seconds=migration.downtime_seconds,
        waiting=migration.waiting,
    )
