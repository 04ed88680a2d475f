"""`machine.apply`: the one place a transition changes a migration (state, owed action, steps,
error) and makes the event that records it; pure, so every case is checked here."""

from __future__ import annotations

import copy

import pytest

from stackferry.controller.domain.machine import TABLE, Action, MigrationEvent, apply
from stackferry.controller.domain.model import (
    EventKind,
    Migration,
    MigrationSpec,
    MigrationState,
    Step,
    StepState,
)
from stackferry.controller.errors import InvalidTransition

S = MigrationState
E = MigrationEvent
A = Action
SPEC = MigrationSpec("web", "/srv/web/docker-compose.yml", "a:1", "b:2", "dst/x", "/mnt/x")


def migration(state: MigrationState, pending: Action | None, *steps: Step) -> Migration:
    return Migration(id="m1", spec=SPEC, state=state, pending_action=pending, steps=list(steps))


def test_start_opens_the_validate_step_and_leaves_the_input_as_it_was() -> None:
    pending = migration(S.PENDING, None)
    before = copy.deepcopy(pending)

    started, event = apply(pending, E.START, now=5.0)

    assert pending == before
    assert (started.state, started.pending_action) == (S.VALIDATING, A.VALIDATE)
    assert started.steps == [Step("validate", StepState.RUNNING, started_at=5.0)]
    assert (event.kind, event.state, event.time, event.message) == (
        EventKind.STATE,
        S.VALIDATING,
        5.0,
        "start",
    )
    assert event.migration_id == "m1" and event.step == ""


def test_step_ok_closes_the_step_and_opens_the_next_with_no_bytes() -> None:
    running = migration(
        S.SNAPSHOTTING,
        A.SNAPSHOT,
        Step("snapshot", StepState.RUNNING, 1.0),
        Step("bulk_send", StepState.FAILED, 0.5, 0.7, 10, 20, "earlier try"),
    )
    advanced, event = apply(running, E.STEP_OK, now=2.0)
    assert (advanced.state, advanced.pending_action) == (S.BULK_SENDING, A.BULK_SEND)
    assert advanced.steps == [
        Step("snapshot", StepState.DONE, 1.0, 2.0),
        Step("bulk_send", StepState.RUNNING, 2.0),
    ]
    assert (event.step, event.message, advanced.error) == ("snapshot", "snapshot done", "")


def test_a_failure_before_the_stop_is_failing_with_the_discard_owed() -> None:
    running = migration(S.BULK_SENDING, A.BULK_SEND, Step("bulk_send", StepState.RUNNING, 1.0))
    failing, event = apply(running, E.STEP_FAILED, now=3.0, error="agent gone")
    assert (failing.state, failing.pending_action) == (S.FAILING, A.DISCARD)
    assert not failing.state.is_terminal
    assert failing.step("bulk_send") == Step(
        "bulk_send", StepState.FAILED, 1.0, 3.0, error="agent gone"
    )
    assert failing.step("discard").state == StepState.RUNNING
    assert failing.error == "bulk_send: agent gone"
    assert (event.state, event.step, event.message) == (
        S.FAILING,
        "bulk_send",
        "bulk_send failed: agent gone",
    )


@pytest.mark.parametrize(("error", "step_state"), [("", StepState.DONE), ("no", StepState.FAILED)])
def test_the_discard_ends_failed_either_way_and_a_failed_one_adds_its_error(
    error: str, step_state: StepState
) -> None:
    failing = migration(S.FAILING, A.DISCARD, Step("discard", StepState.RUNNING, 1.0))
    failing.error = "bulk_send: agent gone"
    failed, _ = apply(failing, E.STEP_FAILED if error else E.STEP_OK, now=2.0, error=error)
    assert (failed.state, failed.pending_action) == (S.FAILED, None)
    assert failed.step("discard").state == step_state
    expected = "bulk_send: agent gone; discard: no" if error else "bulk_send: agent gone"
    assert failed.error == expected


def test_a_failed_cleanup_completes_with_the_error_on_its_step_only() -> None:
    cleaning = migration(S.CLEANING_UP, A.CLEANUP, Step("cleanup", StepState.RUNNING, 1.0))
    completed, event = apply(cleaning, E.STEP_FAILED, now=2.0, error="snapshot busy")
    assert (completed.state, completed.pending_action, completed.error) == (S.COMPLETED, None, "")
    assert completed.step("cleanup").error == "snapshot busy"
    assert event.message == "cleanup failed: snapshot busy"


def test_cancel_closes_running_steps_as_cancelled_and_opens_the_undo() -> None:
    sending = migration(S.BULK_SENDING, A.BULK_SEND, Step("bulk_send", StepState.RUNNING, 1.0))
    cancelling, event = apply(sending, E.CANCEL, now=4.0)
    assert (cancelling.state, cancelling.pending_action) == (S.CANCELLING, A.DISCARD)
    assert cancelling.step("bulk_send") == Step(
        "bulk_send", StepState.FAILED, 1.0, 4.0, error="cancelled"
    )
    assert cancelling.step("discard") == Step("discard", StepState.RUNNING, 4.0)
    assert (event.state, event.step, event.message) == (S.CANCELLING, "", "cancel")


def test_a_step_left_running_by_a_cut_off_progress_record_is_closed_as_interrupted() -> None:
    undoing = migration(
        S.CANCELLING,
        A.DISCARD,
        Step("bulk_send", StepState.RUNNING, 1.0),
        Step("discard", StepState.RUNNING, 2.0),
    )
    cancelled, _ = apply(undoing, E.STEP_OK, now=3.0)
    assert cancelled.step("bulk_send").error == "interrupted"
    assert cancelled.step("bulk_send").state == StepState.FAILED
    assert cancelled.step("discard").state == StepState.DONE


def test_a_noop_keeps_the_undo_in_progress() -> None:
    undoing = migration(S.CANCELLING, A.DISCARD, Step("discard", StepState.RUNNING, 2.0))
    same, event = apply(undoing, E.CANCEL, now=3.0)
    assert same == undoing
    assert event.state == S.CANCELLING


def test_a_step_event_needs_a_pending_action() -> None:
    with pytest.raises(InvalidTransition):
        apply(migration(S.BULK_SENDING, None), E.STEP_OK, now=1.0)
    with pytest.raises(InvalidTransition):
        apply(migration(S.COMPLETED, None), E.CANCEL, now=1.0)


@pytest.mark.parametrize(("state", "event"), list(TABLE), ids=lambda v: v.value)
def test_every_transition_owes_what_the_table_says_and_a_terminal_state_nothing(
    state: MigrationState, event: MigrationEvent
) -> None:
    owed = None if state == S.PENDING else A.VALIDATE
    changed, record = apply(migration(state, owed), event, now=1.0, error="x")
    next_state, action = TABLE[(state, event)]
    assert changed.state == record.state == next_state
    if changed.state.is_terminal:
        assert changed.pending_action is None
    elif next_state != state or action is not None:
        assert changed.pending_action == action
