"""The engine's retry window: which errors are tried again, and the pauses in between."""

from __future__ import annotations

import pytest

from stackferry.controller.engine.context import StepFailed, TargetUnknown
from stackferry.controller.engine.retry import RetryPolicy
from stackferry.controller.errors import AlreadyExists, NotFound, Unavailable


def pauses(policy: RetryPolicy) -> list[float]:
    """The pauses of a step whose every attempt fails, attempt after attempt."""
    waited, attempt, found = 0.0, 1, []
    while (pause := policy.next_pause(attempt, waited)) is not None:
        found.append(pause)
        waited += pause
        attempt += 1
    return found


def test_the_pauses_double_up_to_the_cap_and_the_last_attempt_ends_the_window() -> None:
    found = pauses(RetryPolicy(window_seconds=60, pause_seconds=1, max_pause_seconds=10))
    assert found == [1, 2, 4, 8, 10, 10, 10, 10, 5]
    assert sum(found) == 60


def test_the_default_window_rides_out_a_systemd_restart() -> None:
    policy = RetryPolicy()
    assert policy.window_seconds >= 60 and sum(pauses(policy)) == policy.window_seconds


def test_a_zero_window_tries_once() -> None:
    assert pauses(RetryPolicy(window_seconds=0)) == []


def test_only_transient_errors_are_tried_again() -> None:
    assert RetryPolicy.is_transient(Unavailable("agent a:1: connection refused", "a:1"))
    assert RetryPolicy.is_transient(TargetUnknown("unreachable", "a:1", transient=True))
    for error in (
        TargetUnknown("stop failed", "a:1", transient=False),
        StepFailed("target not serving"),
        AlreadyExists("claimed by migration x"),
        NotFound("no such dataset"),
        RuntimeError("a bug"),
    ):
        assert not RetryPolicy.is_transient(error), error


@pytest.mark.parametrize(
    ("window", "pause", "max_pause"), [(-1.0, 1.0, 10.0), (60.0, 0.0, 10.0), (60.0, 5.0, 2.0)]
)
def test_settings_that_make_no_sense_are_refused(
    window: float, pause: float, max_pause: float
) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(window, pause, max_pause)
