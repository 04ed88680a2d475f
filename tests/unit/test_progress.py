"""The status view of a stored migration: overall percent, current step, rate and ETA."""

from __future__ import annotations

import pytest

from controller.domain.model import Migration, MigrationSpec, MigrationState, Step, StepState
from controller.domain.progress import STEP_WEIGHTS, status_of

SPEC = MigrationSpec("web", "/srv/web/docker-compose.yml", "a:1", "b:2", "dst/x", "/mnt/x")


def migration(state: MigrationState, *steps: Step) -> Migration:
    return Migration(id="m1", spec=SPEC, state=state, steps=list(steps))


def test_nothing_done_is_zero_and_completed_is_a_hundred() -> None:
    assert status_of(migration(MigrationState.PENDING), 0).progress_percent == 0.0
    done = migration(MigrationState.COMPLETED, Step("cleanup", StepState.FAILED))
    assert status_of(done, 0).progress_percent == 100.0


def test_half_the_bulk_copy_counts_half_its_weight_with_rate_and_eta() -> None:
    total = sum(STEP_WEIGHTS.values())
    m = migration(
        MigrationState.BULK_SENDING,
        Step("validate", StepState.DONE, 0, 1),
        Step("snapshot", StepState.DONE, 1, 2),
        Step("bulk_send", StepState.RUNNING, 100.0, None, 500, 1000),
    )
    status = status_of(m, now=110.0)
    expected = 100 * (STEP_WEIGHTS["validate"] + STEP_WEIGHTS["snapshot"] + 35) / total
    assert status.progress_percent == pytest.approx(expected, abs=0.1)
    assert status.current_step == "bulk_send"
    assert (status.bytes_done, status.bytes_expected) == (500, 1000)
    assert status.rate_bytes_per_second == pytest.approx(50.0)
    assert status.eta_seconds == pytest.approx(10.0)


def test_unknown_rate_and_eta_before_any_byte_moved() -> None:
    m = migration(MigrationState.BULK_SENDING, Step("bulk_send", StepState.RUNNING, 100.0))
    status = status_of(m, now=105.0)
    assert status.rate_bytes_per_second == 0.0 and status.eta_seconds is None


def test_after_a_failure_the_last_step_is_reported_with_the_error() -> None:
    m = migration(
        MigrationState.ROLLED_BACK,
        Step("deploy", StepState.FAILED, 1, 2, error="port taken"),
        Step("rollback", StepState.DONE, 2, 3),
    )
    m.error, m.downtime_seconds = "deploy: port taken", 4.5
    status = status_of(m, now=10)
    assert status.current_step == "rollback"
    assert status.error == "deploy: port taken" and status.downtime_seconds == 4.5
    assert status.eta_seconds is None
