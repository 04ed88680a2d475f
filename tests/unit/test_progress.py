"""The status view of a stored migration: overall percent, current step, rate and ETA."""

from __future__ import annotations

import pytest

from stackferry.controller.domain.model import (
    Migration,
    MigrationSpec,
    MigrationState,
    Step,
    StepState,
)
from stackferry.controller.domain.progress import (
    SNAPSHOT_DELTA,
    STEP_WEIGHTS,
    incremental_estimate,
    status_of,
)
from stackferry.hostapi import SendEstimate, SnapshotInfo

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


def snap(name: str, referenced: int, used: int = 0) -> SnapshotInfo:
    return SnapshotInfo("pool/app", name, guid="1", used_bytes=used, referenced_bytes=referenced)


def test_a_dry_run_estimate_of_an_incremental_is_taken_as_it_is() -> None:
    reported = SendEstimate(5_000, "zfs send -nvP")
    assert incremental_estimate(reported, snap("b", 100), snap("n", 90)) == (5_000, reported.method)


def test_a_written_figure_below_referenced_is_a_real_delta() -> None:
    reported = SendEstimate(3_000, "properties")  # written@base on OpenZFS without -nvP output
    estimate = incremental_estimate(reported, snap("b", 60_000), snap("n", 64_000))
    assert estimate == (3_000, "properties")


def test_the_full_size_fallback_becomes_the_growth_plus_what_only_the_base_holds() -> None:
    # zfs-fuse: the agent reports the new snapshot's whole `referenced`.
    reported = SendEstimate(64_000, "properties")
    base, new = snap("b", 60_000, used=1_000), snap("n", 64_000)
    assert incremental_estimate(reported, base, new) == (5_000, SNAPSHOT_DELTA)


def test_a_shrunk_dataset_clamps_the_delta_at_zero() -> None:
    reported = SendEstimate(10_000, "properties")
    estimate = incremental_estimate(reported, snap("b", 50_000), snap("n", 10_000))
    assert estimate == (0, SNAPSHOT_DELTA)


def test_after_the_bulk_copy_totals_count_what_finished_steps_moved() -> None:
    m = migration(
        MigrationState.INCREMENTAL_SENDING,
        Step("bulk_send", StepState.DONE, 1, 2, bytes_done=64_000, bytes_expected=66_000),
        Step("incremental_send", StepState.RUNNING, 3.0, None, 1_000, 4_000),
    )
    status = status_of(m, now=4.0)
    assert (status.bytes_done, status.bytes_expected) == (65_000, 68_000)


def test_a_step_that_streamed_past_its_estimate_expects_what_it_streamed() -> None:
    m = migration(
        MigrationState.INCREMENTAL_SENDING,
        Step("incremental_send", StepState.RUNNING, 3.0, None, 7_000, 4_000),
    )
    assert status_of(m, now=4.0).bytes_expected == 7_000
