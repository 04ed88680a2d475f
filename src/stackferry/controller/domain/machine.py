"""The migration state machine: a pure table (state, event) -> (next state, action), and
`apply`, the one way a transition changes a migration.

How the engine uses it (controller/engine/record.py saves what `apply` returns):
  1. `migration, event = apply(m, event, now, error)`: the new state, the action it owes
     (`pending_action`), the step that ended closed and the step of the action opened.
  2. Save (compare-and-set) BEFORE running anything.
  3. Run `pending_action` (idempotent), then apply STEP_OK or STEP_FAILED.
  A controller that restarts re-runs `m.pending_action` of each migration it leases. Only
  non-terminal states owe an action: a terminal state is the end, with nothing left to do.

A cancel from the API is saved without the lease (compare-and-set on the version only): the
driver's next save then fails with Conflict, and it re-reads and follows the new state and its
pending action.

Events: START (user starts a PENDING migration), STEP_OK / STEP_FAILED (the action of the
current state finished), TARGET_UNKNOWN (a rollback could not learn whether the target stack
runs: its agent stayed unreachable, or its stop failed), CANCEL (user asks to stop; accepted
in every state that is not halted), RESUME (a person checked the target and resumes a
migration that NEEDS_ATTENTION).

One live copy: the source stack is started again only when the target stack is known
stopped or removed, or known never deployed (engine/steps/undo.py).

Failure paths:
  - validation fails -> FAILED (nothing was made yet);
  - SNAPSHOTTING, BULK_SENDING fail (the source still serves) -> FAILING (DISCARD: destroy
    the migration's snapshots and what it received on the target) -> FAILED, also when the
    discard fails (its error is added);
  - from STOPPING_SOURCE on (a stop can fail half-way) -> ROLLING_BACK (ROLLBACK: target
    stack stopped and discarded, source stack started, snapshots destroyed) -> ROLLED_BACK;
    a failed rollback -> FAILED (a person must look); a rollback that cannot tell whether
    the target stack runs -> NEEDS_ATTENTION (the source stays stopped; RESUME runs the
    rollback again).
  - a failed CLEANING_UP still ends COMPLETED: the target serves, undoing that would cost
    downtime for leftover snapshots; the error stays on the cleanup step.
Cancel paths:
  - PENDING -> CANCELLED (nothing was done);
  - before the stop -> CANCELLING (DISCARD) -> CANCELLED;
  - from STOPPING_SOURCE on -> CANCELLING (ROLLBACK_AND_DISCARD: the rollback, which
    discards too) -> CANCELLED, or NEEDS_ATTENTION as a rollback;
  - CANCELLING / ROLLING_BACK / FAILING: a no-op, the undo in progress continues.
Terminal states accept nothing, NEEDS_ATTENTION only RESUME: InvalidTransition.
"""

from __future__ import annotations

import copy
import enum
from dataclasses import dataclass

from stackferry.controller.domain.model import (
    Event,
    EventKind,
    Migration,
    MigrationState,
    StepState,
)
from stackferry.controller.errors import InvalidTransition


class MigrationEvent(enum.StrEnum):
    START = "start"
    STEP_OK = "step_ok"
    STEP_FAILED = "step_failed"
    TARGET_UNKNOWN = "target_unknown"
    CANCEL = "cancel"
    RESUME = "resume"


class Action(enum.StrEnum):
    """Work the engine does after entering a state; values double as Step names."""

    VALIDATE = "validate"
    SNAPSHOT = "snapshot"
    BULK_SEND = "bulk_send"
    STOP_SOURCE = "stop_source"
    FINAL_SNAPSHOT = "final_snapshot"
    INCREMENTAL_SEND = "incremental_send"
    DEPLOY = "deploy"
    VERIFY = "verify"
    CLEANUP = "cleanup"
    ROLLBACK = "rollback"
    DISCARD = "discard"
    ROLLBACK_AND_DISCARD = "rollback_and_discard"


@dataclass(frozen=True)
class Transition:
    state: MigrationState
    event: MigrationEvent
    next_state: MigrationState
    action: Action | None

    @property
    def is_noop(self) -> bool:
        """Nothing to save and nothing to run: the state's action in progress continues."""
        return self.next_state == self.state and self.action is None


S = MigrationState
E = MigrationEvent
A = Action

# The happy path: each state's action, when it succeeds, leads to the next state and its action.
FORWARD: list[tuple[MigrationState, MigrationState, Action | None]] = [
    (S.VALIDATING, S.SNAPSHOTTING, A.SNAPSHOT),
    (S.SNAPSHOTTING, S.BULK_SENDING, A.BULK_SEND),
    (S.BULK_SENDING, S.STOPPING_SOURCE, A.STOP_SOURCE),
    (S.STOPPING_SOURCE, S.FINAL_SNAPSHOTTING, A.FINAL_SNAPSHOT),
    (S.FINAL_SNAPSHOTTING, S.INCREMENTAL_SENDING, A.INCREMENTAL_SEND),
    (S.INCREMENTAL_SENDING, S.DEPLOYING, A.DEPLOY),
    (S.DEPLOYING, S.VERIFYING, A.VERIFY),
    (S.VERIFYING, S.CLEANING_UP, A.CLEANUP),
    (S.CLEANING_UP, S.COMPLETED, None),
]

# Before the stop the source still serves: failing or cancelling only discards what we made.
BEFORE_STOP = (S.VALIDATING, S.SNAPSHOTTING, S.BULK_SENDING)
# From the stop on the source may be down: failing or cancelling must start it again.
AFTER_STOP = (
    S.STOPPING_SOURCE,
    S.FINAL_SNAPSHOTTING,
    S.INCREMENTAL_SENDING,
    S.DEPLOYING,
    S.VERIFYING,
)

TABLE: dict[tuple[MigrationState, MigrationEvent], tuple[MigrationState, Action | None]] = {
    (S.PENDING, E.START): (S.VALIDATING, A.VALIDATE),
    (S.PENDING, E.CANCEL): (S.CANCELLED, None),
    **{(state, E.STEP_OK): (nxt, action) for state, nxt, action in FORWARD},
    (S.VALIDATING, E.STEP_FAILED): (S.FAILED, None),
    (S.SNAPSHOTTING, E.STEP_FAILED): (S.FAILING, A.DISCARD),
    (S.BULK_SENDING, E.STEP_FAILED): (S.FAILING, A.DISCARD),
    **{(state, E.CANCEL): (S.CANCELLING, A.DISCARD) for state in BEFORE_STOP},
    **{(state, E.STEP_FAILED): (S.ROLLING_BACK, A.ROLLBACK) for state in AFTER_STOP},
    **{(state, E.CANCEL): (S.CANCELLING, A.ROLLBACK_AND_DISCARD) for state in AFTER_STOP},
    (S.CLEANING_UP, E.STEP_FAILED): (S.COMPLETED, None),
    (S.CLEANING_UP, E.CANCEL): (S.CANCELLING, A.ROLLBACK_AND_DISCARD),
    (S.ROLLING_BACK, E.STEP_OK): (S.ROLLED_BACK, None),
    (S.ROLLING_BACK, E.STEP_FAILED): (S.FAILED, None),
    (S.ROLLING_BACK, E.TARGET_UNKNOWN): (S.NEEDS_ATTENTION, None),
    (S.ROLLING_BACK, E.CANCEL): (S.ROLLING_BACK, None),
    (S.CANCELLING, E.STEP_OK): (S.CANCELLED, None),
    (S.CANCELLING, E.STEP_FAILED): (S.FAILED, None),
    (S.CANCELLING, E.TARGET_UNKNOWN): (S.NEEDS_ATTENTION, None),
    (S.CANCELLING, E.CANCEL): (S.CANCELLING, None),
    (S.FAILING, E.STEP_OK): (S.FAILED, None),
    (S.FAILING, E.STEP_FAILED): (S.FAILED, None),
    (S.FAILING, E.CANCEL): (S.FAILING, None),
    (S.NEEDS_ATTENTION, E.RESUME): (S.ROLLING_BACK, A.ROLLBACK),
}


def next_transition(state: MigrationState, event: MigrationEvent) -> Transition:
    """The transition for `event` in `state`; InvalidTransition when the table has none."""
    try:
        next_state, action = TABLE[(state, event)]
    except KeyError:
        raise InvalidTransition(state.value, event.value) from None
    return Transition(state=state, event=event, next_state=next_state, action=action)


STEP_EVENTS = (MigrationEvent.STEP_OK, MigrationEvent.STEP_FAILED, MigrationEvent.TARGET_UNKNOWN)


def apply(
    migration: Migration, event: MigrationEvent, now: float, error: str = ""
) -> tuple[Migration, Event]:
    """The migration after `event`, and the STATE event that records it; `migration` itself
    is left as it was. No I/O: saving both, together, is the caller's part.

    STEP_OK / STEP_FAILED / TARGET_UNKNOWN end the pending action: its step is closed (done,
    or failed with `error`, which is added to the migration's error unless it still
    completes); a step left running by a cut-off progress record is closed as interrupted.
    CANCEL closes running steps as cancelled. The step of the action the new state owes is
    opened (running, no bytes yet); `waiting` is cleared. A no-op transition changes nothing
    (the undo in progress keeps its action); its event says so. InvalidTransition when the
    machine has no such transition, or a step event comes while no action is pending.
    """
    transition = next_transition(migration.state, event)
    ended = migration.pending_action if event in STEP_EVENTS else None
    if event in STEP_EVENTS and ended is None:
        raise InvalidTransition(migration.state.value, event.value)
    changed = copy.deepcopy(migration)
    if transition.is_noop:
        message = f"{event.value}: {migration.state.value} continues"
        return changed, Event(changed.id, now, EventKind.STATE, changed.state, "", message)
    for step in changed.steps:
        if step.state == StepState.RUNNING and step.name != ended:
            step.state, step.ended_at = StepState.FAILED, now
            step.error = (
                "cancelled" if event == MigrationEvent.CANCEL else step.error or "interrupted"
            )
    message = event.value
    if ended is not None:
        step = changed.step(ended)
        step.state, step.ended_at, step.error = (
            (StepState.FAILED, now, error) if error else (StepState.DONE, now, "")
        )
        message = f"{ended} failed: {error}" if error else f"{ended} done"
        if error and transition.next_state != MigrationState.COMPLETED:
            changed.error = (
                f"{changed.error}; {ended}: {error}" if changed.error else f"{ended}: {error}"
            )
    changed.state, changed.pending_action = transition.next_state, transition.action
    changed.waiting = ""
    if transition.action is not None:
        opened = changed.step(transition.action)
        opened.state, opened.started_at, opened.ended_at, opened.error = (
            StepState.RUNNING,
            now,
            None,
            "",
        )
        opened.bytes_done = opened.bytes_expected = 0
    record = Event(changed.id, now, EventKind.STATE, changed.state, ended or "", message)
    return changed, record
