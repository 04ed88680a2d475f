"""The migration engine end to end: ControllerService in-process on an SQLite store, two real
agent processes, real zfs-fuse pools and the two real Docker engines.

The stack's busybox container appends a numbered line every 50 ms to a file on its
bind-mounted dataset, through the bulk copy, until the source is stopped.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from migration_world import (
    World,
    containers,
    make_world_fixture,  # noqa: F401 (the make_world fixture)
    read_in_container,
    snapshots_of,
    spec_for,
)

from stackferry.controller.agents import AgentDialer
from stackferry.controller.config import sqlite_url
from stackferry.controller.domain.model import EventKind, MigrationState, StepState
from stackferry.controller.errors import AlreadyExists
from stackferry.controller.service import ControllerService
from stackferry.controller.store.sql import SqlMigrationStore

pytestmark = [pytest.mark.zfs, pytest.mark.docker]

MIGRATION_TIMEOUT = 240


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ControllerService]:
    store = SqlMigrationStore(sqlite_url(tmp_path / "controller.db"))
    running = ControllerService(store, AgentDialer(), owner_id="e2e", lease_ttl=5)
    yield running
    running.shutdown()
    store.close()


def wait_for(service: ControllerService, migration_id: str, step: str, timeout: float = 60) -> None:
    """Until `step` runs and has moved some bytes."""
    deadline = time.monotonic() + timeout
    while True:
        status = service.status(migration_id)
        if status.current_step == step and status.bytes_done > 0:
            return
        assert not status.state.is_terminal, status
        assert time.monotonic() < deadline, status
        time.sleep(0.1)


def test_running_stack_moves_with_every_line_written_before_the_stop(
    make_world: Callable[..., World], service: ControllerService
) -> None:
    world = make_world(data_mib=24)
    migration = service.create(spec_for(world), start=True)
    finished = service.wait(migration.id, MIGRATION_TIMEOUT)
    assert finished.state == MigrationState.COMPLETED, finished.error
    events = [e.kind.value for e in service.watch(migration.id, threading.Event())]

    # The source is stopped; its file is final: every line of it is on the target, in order,
    # and the target container has gone on appending after the deploy.
    assert not containers(world.docker_a, world.project, running_only=True)
    source_lines = world.log_file.read_text().splitlines()
    target_lines = read_in_container(world.docker_b, world.project, "/data/log.txt").splitlines()
    assert len(source_lines) > 5
    assert target_lines[: len(source_lines)] == source_lines

    # The target container reads its data through the translated path, below target_base.
    (container,) = containers(world.docker_b, world.project, running_only=True)
    (mount,) = container.attrs["Mounts"]
    assert mount["Source"] == str(world.target_base / world.project / "data")
    translated = (world.target_base / world.project / "docker-compose.yml").read_text()
    assert f"{world.target_base / world.project / 'data'}:/data" in translated

    # The bulk copy carried the data while the app ran; only the delta moved after the stop.
    steps = {s.name: s for s in finished.steps}
    assert all(s.state == StepState.DONE for s in steps.values()), steps
    assert steps["bulk_send"].bytes_done > 24 << 20
    assert steps["incremental_send"].bytes_done < steps["bulk_send"].bytes_done
    assert finished.bytes_transferred >= steps["bulk_send"].bytes_done
    assert finished.source_stopped_at is not None and finished.target_serving_at is not None
    downtime = finished.target_serving_at - finished.source_stopped_at
    assert downtime > 0 and finished.downtime_seconds == pytest.approx(downtime)
    status = service.status(migration.id)
    assert status.progress_percent == 100.0 and status.downtime_seconds is not None

    # Clean-up destroyed the migration's snapshots on both pools.
    assert not [s for s in snapshots_of(world.source_pool.name) if migration.id in s]
    assert not [s for s in snapshots_of(world.target_pool.name) if migration.id in s]
    assert "progress" in events and events[-1] == EventKind.STATE.value


def datasets_of(pool: str) -> list[str]:
    listed = subprocess.run(
        ["zfs", "list", "-H", "-o", "name", "-r", pool], capture_output=True, text=True, check=True
    )
    return listed.stdout.split()


def test_target_compose_dir_taken_during_the_copy_rolls_back(
    make_world: Callable[..., World], service: ControllerService
) -> None:
    world = make_world(data_mib=16)
    migration = service.create(
        spec_for(world, bandwidth_limit_bytes_per_second=4 << 20), start=True
    )
    wait_for(service, migration.id, "bulk_send")
    # Another project claims the directory the stack's compose file is to be written to.
    taken = world.target_base / world.project
    taken.mkdir(parents=True)
    (taken / "docker-compose.yml").write_text("services:\n  other:\n    image: local/busybox:1\n")
    (taken / ".env").write_text("COMPOSE_PROJECT_NAME=someoneelse\n")

    finished = service.wait(migration.id, MIGRATION_TIMEOUT)
    assert finished.state == MigrationState.ROLLED_BACK, finished
    assert "deploy" in finished.error and "someoneelse" in finished.error
    steps = {s.name: s for s in finished.steps}
    assert steps["deploy"].state == StepState.FAILED
    assert steps["rollback"].state == StepState.DONE
    # The source runs again and keeps writing; nothing of the stack runs on the target.
    assert len(containers(world.docker_a, world.project, running_only=True)) == 1
    before = len(world.log_file.read_text().splitlines())
    deadline = time.monotonic() + 10
    while len(world.log_file.read_text().splitlines()) <= before:
        assert time.monotonic() < deadline, "the restarted source does not write"
        time.sleep(0.1)
    assert not containers(world.docker_b, world.project, running_only=True)
    assert finished.downtime_seconds is not None and finished.downtime_seconds > 0
    # What the migration received is discarded; the other project's files are not its own.
    assert datasets_of(world.target_pool.name) == [world.target_pool.name]
    assert (taken / "docker-compose.yml").exists()
    assert not [s for s in snapshots_of(world.source_pool.name) if migration.id in s]


def test_cancel_during_the_bulk_copy_leaves_the_source_serving(
    make_world: Callable[..., World], service: ControllerService
) -> None:
    world = make_world(data_mib=16)
    migration = service.create(
        spec_for(world, bandwidth_limit_bytes_per_second=2 << 20), start=True
    )
    wait_for(service, migration.id, "bulk_send")

    cancelled = service.cancel(migration.id)

    assert cancelled.state == MigrationState.CANCELLED, cancelled
    steps = {s.name: s for s in cancelled.steps}
    assert steps["bulk_send"].state == StepState.FAILED
    assert steps["discard"].state == StepState.DONE
    assert "stop_source" not in steps
    assert len(containers(world.docker_a, world.project, running_only=True)) == 1
    assert not containers(world.docker_b, world.project)
    assert not [s for s in snapshots_of(world.source_pool.name) if migration.id in s]
    # The partial receive is gone from the target: a plain retry validates again.
    assert datasets_of(world.target_pool.name) == [world.target_pool.name]
    assert service.validate(spec_for(world)).ok


def test_a_second_migration_of_the_same_stack_is_refused_while_one_runs(
    make_world: Callable[..., World], service: ControllerService
) -> None:
    world = make_world(data_mib=8)
    first = service.create(spec_for(world, bandwidth_limit_bytes_per_second=2 << 20), start=True)
    with pytest.raises(AlreadyExists):
        service.create(spec_for(world))
    service.cancel(first.id)
    assert service.wait(first.id, 60).state == MigrationState.CANCELLED
    again = service.create(spec_for(world))
    assert again.state == MigrationState.PENDING


def test_plan_and_validate_change_nothing(
    make_world: Callable[..., World], service: ControllerService
) -> None:
    world = make_world()
    spec = spec_for(world)
    plan = service.plan(spec)
    (dataset,) = plan.datasets
    assert dataset.source_dataset == world.dataset
    assert dataset.target_dataset == f"{world.target_dataset}/{world.project}"
    assert dataset.target_mountpoint == str(world.target_base / world.project)
    assert plan.target_compose_dir == str(world.target_base / world.project)
    assert f"+      - {world.target_base / world.project / 'data'}:/data" in plan.compose_diff
    report = service.validate(spec)
    assert report.ok, report.failures()
    listed = subprocess.run(
        ["zfs", "list", "-H", "-o", "name", "-r", world.target_pool.name],
        capture_output=True,
        text=True,
        check=True,
    )
    assert listed.stdout.split() == [world.target_pool.name]


def test_a_controller_stopped_during_the_bulk_copy_is_resumed_by_the_next_one(
    make_world: Callable[..., World], tmp_path: Path
) -> None:
    world = make_world(data_mib=16)
    store = SqlMigrationStore(sqlite_url(tmp_path / "restart.db"))
    first = ControllerService(store, AgentDialer(), owner_id="first", lease_ttl=5)
    spec = spec_for(world, bandwidth_limit_bytes_per_second=4 << 20, keep_snapshots=True)
    migration = first.create(spec, start=True)
    wait_for(first, migration.id, "bulk_send")
    taken = snapshots_of(world.source_pool.name)[f"sf-{migration.id}-1"]
    first.shutdown()
    assert first.get(migration.id).state == MigrationState.BULK_SENDING

    second = ControllerService(store, AgentDialer(), owner_id="second", lease_ttl=5)
    try:
        second.resume_all()
        finished = second.wait(migration.id, MIGRATION_TIMEOUT)
    finally:
        second.shutdown()
        store.close()

    assert finished.state == MigrationState.COMPLETED, finished.error
    # The first snapshot was reused, not taken again, and is what the target received.
    assert snapshots_of(world.source_pool.name)[f"sf-{migration.id}-1"] == taken
    assert snapshots_of(world.target_pool.name)[f"sf-{migration.id}-1"] == taken
    source_lines = world.log_file.read_text().splitlines()
    target_lines = read_in_container(world.docker_b, world.project, "/data/log.txt").splitlines()
    assert target_lines[: len(source_lines)] == source_lines
