"""The migration state machine, transition by transition, written out independently of TABLE."""

from __future__ import annotations

import itertools

import pytest

from stackferry.controller.domain.machine import (
    TABLE,
    Action,
    MigrationEvent,
    Transition,
    next_transition,
)
from stackferry.controller.domain.model import TERMINAL_STATES, MigrationState
from stackferry.controller.errors import FailedPrecondition, InvalidTransition

S = MigrationState
E = MigrationEvent
A = Action

EXPECTED: dict[tuple[MigrationState, MigrationEvent], tuple[MigrationState, Action | None]] = {
    (S.PENDING, E.START): (S.VALIDATING, A.VALIDATE),
    (S.PENDING, E.CANCEL): (S.CANCELLED, None),
    # happy path
    (S.VALIDATING, E.STEP_OK): (S.SNAPSHOTTING, A.SNAPSHOT),
    (S.SNAPSHOTTING, E.STEP_OK): (S.BULK_SENDING, A.BULK_SEND),
    (S.BULK_SENDING, E.STEP_OK): (S.STOPPING_SOURCE, A.STOP_SOURCE),
    (S.STOPPING_SOURCE, E.STEP_OK): (S.FINAL_SNAPSHOTTING, A.FINAL_SNAPSHOT),
    (S.FINAL_SNAPSHOTTING, E.STEP_OK): (S.INCREMENTAL_SENDING, A.INCREMENTAL_SEND),
    (S.INCREMENTAL_SENDING, E.STEP_OK): (S.DEPLOYING, A.DEPLOY),
    (S.DEPLOYING, E.STEP_OK): (S.VERIFYING, A.VERIFY),
    (S.VERIFYING, E.STEP_OK): (S.CLEANING_UP, A.CLEANUP),
    (S.CLEANING_UP, E.STEP_OK): (S.COMPLETED, None),
    # failures while the source still serves: nothing to roll back, snapshots to discard
    (S.VALIDATING, E.STEP_FAILED): (S.FAILED, None),
    (S.SNAPSHOTTING, E.STEP_FAILED): (S.FAILING, A.DISCARD),
    (S.BULK_SENDING, E.STEP_FAILED): (S.FAILING, A.DISCARD),
    # failures once the source may be stopped: start it again
    (S.STOPPING_SOURCE, E.STEP_FAILED): (S.ROLLING_BACK, A.ROLLBACK),
    (S.FINAL_SNAPSHOTTING, E.STEP_FAILED): (S.ROLLING_BACK, A.ROLLBACK),
    (S.INCREMENTAL_SENDING, E.STEP_FAILED): (S.ROLLING_BACK, A.ROLLBACK),
    (S.DEPLOYING, E.STEP_FAILED): (S.ROLLING_BACK, A.ROLLBACK),
    (S.VERIFYING, E.STEP_FAILED): (S.ROLLING_BACK, A.ROLLBACK),
    (S.CLEANING_UP, E.STEP_FAILED): (S.COMPLETED, None),
    # cancel before the stop
    (S.VALIDATING, E.CANCEL): (S.CANCELLING, A.DISCARD),
    (S.SNAPSHOTTING, E.CANCEL): (S.CANCELLING, A.DISCARD),
    (S.BULK_SENDING, E.CANCEL): (S.CANCELLING, A.DISCARD),
    # cancel after the stop
    (S.STOPPING_SOURCE, E.CANCEL): (S.CANCELLING, A.ROLLBACK_AND_DISCARD),
    (S.FINAL_SNAPSHOTTING, E.CANCEL): (S.CANCELLING, A.ROLLBACK_AND_DISCARD),
    (S.INCREMENTAL_SENDING, E.CANCEL): (S.CANCELLING, A.ROLLBACK_AND_DISCARD),
    (S.DEPLOYING, E.CANCEL): (S.CANCELLING, A.ROLLBACK_AND_DISCARD),
    (S.VERIFYING, E.CANCEL): (S.CANCELLING, A.ROLLBACK_AND_DISCARD),
    (S.CLEANING_UP, E.CANCEL): (S.CANCELLING, A.ROLLBACK_AND_DISCARD),
    # the undo paths
    (S.ROLLING_BACK, E.STEP_OK): (S.ROLLED_BACK, None),
    (S.ROLLING_BACK, E.STEP_FAILED): (S.FAILED, None),
    (S.ROLLING_BACK, E.CANCEL): (S.ROLLING_BACK, None),
    (S.CANCELLING, E.STEP_OK): (S.CANCELLED, None),
    (S.CANCELLING, E.STEP_FAILED): (S.FAILED, None),
    (S.CANCELLING, E.CANCEL): (S.CANCELLING, None),
    # a rollback that cannot tell whether the target stack runs waits for a person
    (S.ROLLING_BACK, E.TARGET_UNKNOWN): (S.NEEDS_ATTENTION, None),
    (S.CANCELLING, E.TARGET_UNKNOWN): (S.NEEDS_ATTENTION, None),
    (S.NEEDS_ATTENTION, E.RESUME): (S.ROLLING_BACK, A.ROLLBACK),
    # failed, the snapshots being discarded: failed either way
    (S.FAILING, E.STEP_OK): (S.FAILED, None),
    (S.FAILING, E.STEP_FAILED): (S.FAILED, None),
    (S.FAILING, E.CANCEL): (S.FAILING, None),
}

NON_TERMINAL = [s for s in MigrationState if s not in TERMINAL_STATES]
RUNNING = [s for s in MigrationState if not s.is_halted]


def test_the_table_is_exactly_the_expected_one() -> None:
    assert set(TABLE) == set(EXPECTED)


@pytest.mark.parametrize(("state", "event"), list(EXPECTED), ids=lambda v: v.value)
def test_transition(state: MigrationState, event: MigrationEvent) -> None:
    next_state, action = EXPECTED[(state, event)]
    assert next_transition(state, event) == Transition(state, event, next_state, action)


INVALID = [
    pair for pair in itertools.product(MigrationState, MigrationEvent) if pair not in EXPECTED
]


@pytest.mark.parametrize(("state", "event"), INVALID, ids=lambda v: v.value)
def test_invalid_transition_is_refused(state: MigrationState, event: MigrationEvent) -> None:
    with pytest.raises(InvalidTransition) as refused:
        next_transition(state, event)
    assert refused.value.state == state.value
    assert refused.value.event == event.value
    assert state.value in str(refused.value)
    # the API maps it like any failed precondition
    assert isinstance(refused.value, FailedPrecondition)


@pytest.mark.parametrize("state", sorted(TERMINAL_STATES), ids=lambda v: v.value)
def test_terminal_states_accept_nothing(state: MigrationState) -> None:
    for event in MigrationEvent:
        with pytest.raises(InvalidTransition):
            next_transition(state, event)


@pytest.mark.parametrize("state", RUNNING, ids=lambda v: v.value)
def test_every_state_that_is_not_halted_accepts_cancel(state: MigrationState) -> None:
    assert next_transition(state, E.CANCEL).next_state in {
        S.CANCELLING,
        S.CANCELLED,
        S.ROLLING_BACK,
        S.FAILING,
    }


@pytest.mark.parametrize("state", NON_TERMINAL, ids=lambda v: v.value)
def test_every_non_terminal_state_reaches_a_terminal_state(state: MigrationState) -> None:
    seen = {state}
    frontier = [state]
    while frontier:
        current = frontier.pop()
        for (source, _), (target, _) in TABLE.items():
            if source == current and target not in seen:
                seen.add(target)
                frontier.append(target)
    assert seen & TERMINAL_STATES


def test_happy_path_runs_every_step_once_and_completes() -> None:
    state = next_transition(S.PENDING, E.START).next_state
    actions = [A.VALIDATE]
    while not state.is_terminal:
        transition = next_transition(state, E.STEP_OK)
        state = transition.next_state
        if transition.action is not None:
            actions.append(transition.action)
    assert state == S.COMPLETED
    assert actions == [
        A.VALIDATE,
        A.SNAPSHOT,
        A.BULK_SEND,
        A.STOP_SOURCE,
        A.FINAL_SNAPSHOT,
        A.INCREMENTAL_SEND,
        A.DEPLOY,
        A.VERIFY,
        A.CLEANUP,
    ]


@pytest.mark.parametrize("state", [S.ROLLING_BACK, S.CANCELLING, S.FAILING], ids=lambda v: v.value)
def test_cancel_while_undoing_is_a_noop(state: MigrationState) -> None:
    assert next_transition(state, E.CANCEL).is_noop


def test_a_real_transition_is_not_a_noop() -> None:
    assert not next_transition(S.PENDING, E.CANCEL).is_noop
    assert not next_transition(S.VALIDATING, E.STEP_OK).is_noop


def test_failure_after_the_stop_ends_rolled_back_not_failed() -> None:
    state = next_transition(S.DEPLOYING, E.STEP_FAILED).next_state
    assert next_transition(state, E.STEP_OK).next_state == S.ROLLED_BACK


def test_no_halted_state_owes_an_action_and_every_other_entered_one_does() -> None:
    for (state, event), (next_state, action) in TABLE.items():
        if next_state.is_halted:
            assert action is None, (state, event)
        elif not next_transition(state, event).is_noop:
            assert action is not None, (state, event)


def test_a_failure_before_the_stop_discards_then_fails_whatever_the_discard_does() -> None:
    for failed in (S.SNAPSHOTTING, S.BULK_SENDING):
        failing = next_transition(failed, E.STEP_FAILED)
        assert (failing.next_state, failing.action) == (S.FAILING, A.DISCARD)
        assert not failing.next_state.is_terminal
        for outcome in (E.STEP_OK, E.STEP_FAILED):
            assert next_transition(S.FAILING, outcome).next_state == S.FAILED


def test_needs_attention_is_halted_but_not_ended_and_only_a_resume_leaves_it() -> None:
    assert S.NEEDS_ATTENTION.is_halted and not S.NEEDS_ATTENTION.is_terminal
    accepted = {e for e in MigrationEvent if (S.NEEDS_ATTENTION, e) in TABLE}
    assert accepted == {E.RESUME}
    resumed = next_transition(S.NEEDS_ATTENTION, E.RESUME)
    assert next_transition(resumed.next_state, E.STEP_OK).next_state == S.ROLLED_BACK
    # Only a rollback ends there: a failure before the stop never stops the source.
    assert {state for (state, event) in TABLE if event == E.TARGET_UNKNOWN} == {
        S.ROLLING_BACK,
        S.CANCELLING,
    }


def test_state_values_mirror_the_proto_enum() -> None:
    from stackferry.api.controller.v1 import controller_pb2

    proto_names = {
        name
        for name, _ in controller_pb2.MigrationState.items()
        if name != "MIGRATION_STATE_UNSPECIFIED"
    }
    assert {s.value for s in MigrationState} == proto_names


def test_target_unknown_ends_the_rollback_failed_with_its_message_and_clears_waiting() -> None:
    from stackferry.controller.domain.machine import apply
    from stackferry.controller.domain.model import Migration, MigrationSpec, StepState

    spec = MigrationSpec("web", "/srv/web/compose.yml", "a:1", "b:1", "dst", "/mnt")
    rolling = Migration("m1", spec, S.ROLLING_BACK, "deploy: refused", pending_action=A.ROLLBACK)
    rolling.step(A.ROLLBACK).state = StepState.RUNNING
    rolling.waiting = "waiting for agent b:1 (attempt 9, next in 10 s)"
    why = "target agent b:1 unreachable: the stack may run there"
    changed, event = apply(rolling, E.TARGET_UNKNOWN, now=5.0, error=why)
    assert (changed.state, changed.pending_action, changed.waiting) == (S.NEEDS_ATTENTION, None, "")
    assert changed.step(A.ROLLBACK).state == StepState.FAILED
    assert changed.error == f"deploy: refused; rollback: {why}"
    assert event.state == S.NEEDS_ATTENTION
