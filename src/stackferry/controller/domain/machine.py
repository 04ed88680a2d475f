"""The migration state machine: a pure table (state, event) -> (next state, action).

How the orchestrator uses it:
  1. `t = next_transition(m.state, event)`.
  2. Unless `t.is_noop`: set `m.state = t.next_state`, `m.pending_action = t.action` and save
     (compare-and-set) BEFORE running anything.
  3. Run `t.action` (idempotent), then clear `pending_action` and feed STEP_OK or STEP_FAILED.
  A controller that restarts re-runs `m.pending_action` of each migration it leases; terminal
  states may still owe an action (FAILED owes DISCARD after a failure before the stop).

A cancel from the API is saved without the lease (compare-and-set on the version only): the
driver's next save then fails with Conflict, and it re-reads and follows the new state and its
pending action.

Events: START (user starts a PENDING migration), STEP_OK / STEP_FAILED (the action of the
current state finished), CANCEL (user asks to stop; accepted in every non-terminal state).

Failure paths:
  - before the source is stopped (VALIDATING, SNAPSHOTTING, BULK_SENDING) -> FAILED, with
    DISCARD (destroy the migration's snapshots, release holds) once snapshots may exist;
  - from STOPPING_SOURCE on (a stop can fail half-way) -> ROLLING_BACK (ROLLBACK: target
    stack stopped and left for inspection, source stack started) -> ROLLED_BACK; a failed
    rollback -> FAILED (a person must look).
  - a failed CLEANING_UP still ends COMPLETED: the target serves, undoing that would cost
    downtime for leftover snapshots; the orchestrator records the error.
Cancel paths:
  - PENDING -> CANCELLED (nothing was done);
  - before the stop -> CANCELLING (DISCARD) -> CANCELLED;
  - from STOPPING_SOURCE on -> CANCELLING (ROLLBACK_AND_DISCARD: the rollback, then the
    snapshots go) -> CANCELLED; data already received on the target stays and is reported;
  - CANCELLING / ROLLING_BACK: a no-op, the undo in progress continues.
Terminal states accept nothing: InvalidTransition.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from stackferry.controller.domain.model import MigrationState
from stackferry.controller.errors import InvalidTransition


class MigrationEvent(enum.StrEnum):
    START = "start"
    STEP_OK = "step_ok"
    STEP_FAILED = "step_failed"
    CANCEL = "cancel"


class Action(enum.StrEnum):
    """Work the orchestrator does after entering a state; values double as Step names."""

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
    (S.SNAPSHOTTING, E.STEP_FAILED): (S.FAILED, A.DISCARD),
    (S.BULK_SENDING, E.STEP_FAILED): (S.FAILED, A.DISCARD),
    **{(state, E.CANCEL): (S.CANCELLING, A.DISCARD) for state in BEFORE_STOP},
    **{(state, E.STEP_FAILED): (S.ROLLING_BACK, A.ROLLBACK) for state in AFTER_STOP},
    **{(state, E.CANCEL): (S.CANCELLING, A.ROLLBACK_AND_DISCARD) for state in AFTER_STOP},
    (S.CLEANING_UP, E.STEP_FAILED): (S.COMPLETED, None),
    (S.CLEANING_UP, E.CANCEL): (S.CANCELLING, A.ROLLBACK_AND_DISCARD),
    (S.ROLLING_BACK, E.STEP_OK): (S.ROLLED_BACK, None),
    (S.ROLLING_BACK, E.STEP_FAILED): (S.FAILED, None),
    (S.ROLLING_BACK, E.CANCEL): (S.ROLLING_BACK, None),
    (S.CANCELLING, E.STEP_OK): (S.CANCELLED, None),
    (S.CANCELLING, E.STEP_FAILED): (S.FAILED, None),
    (S.CANCELLING, E.CANCEL): (S.CANCELLING, None),
}


def next_transition(state: MigrationState, event: MigrationEvent) -> Transition:
    """The transition for `event` in `state`; InvalidTransition when the table has none."""
    try:
        next_state, action = TABLE[(state, event)]
    except KeyError:
        raise InvalidTransition(state.value, event.value) from None
    return Transition(state=state, event=event, next_state=next_state, action=action)
