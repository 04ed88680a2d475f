"""ControllerService on a real SQLite store where no agent answers (a closed loopback port):
create, start, validation failure, cancel, list, watch, delete and resume after a dead driver."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import free_port

from stackferry.controller.agents import AgentDialer
from stackferry.controller.config import sqlite_url
from stackferry.controller.domain.machine import MigrationEvent, next_transition
from stackferry.controller.domain.model import MigrationSpec, MigrationState, StepState
from stackferry.controller.errors import FailedPrecondition, InvalidArgument, NotFound
from stackferry.controller.service import ControllerService
from stackferry.controller.store.sql import SqlMigrationStore


def closed_port() -> str:
    return f"127.0.0.1:{free_port()}"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlMigrationStore]:
    opened = SqlMigrationStore(sqlite_url(tmp_path / "controller.db"))
    yield opened
    opened.close()


@pytest.fixture
def service(store: SqlMigrationStore) -> Iterator[ControllerService]:
    running = ControllerService(store, AgentDialer(), owner_id="here", lease_ttl=1.0)
    yield running
    running.shutdown()


def nobody_spec(name: str = "web") -> MigrationSpec:
    return MigrationSpec(
        name=name,
        compose_path=f"/srv/{name}/docker-compose.yml",
        source_agent=closed_port(),
        target_agent=closed_port(),
        target_dataset="dst/stacks",
        target_base="/mnt/stacks",
    )


def test_a_bad_spec_is_refused_before_anything_is_stored(service: ControllerService) -> None:
    with pytest.raises(InvalidArgument, match="target_base"):
        service.create(dataclasses.replace(nobody_spec(), target_base="relative"))
    assert service.list() == ([], "")


def test_unreachable_agents_fail_validation_with_the_reason(service: ControllerService) -> None:
    created = service.create(nobody_spec())
    assert created.state == MigrationState.PENDING
    assert service.status(created.id).progress_percent == 0.0

    started = service.start(created.id)
    assert started.state == MigrationState.VALIDATING
    finished = service.wait(created.id, 30)

    assert finished.state == MigrationState.FAILED
    assert "agents_reachable" in finished.error
    (step,) = finished.steps
    assert (step.name, step.state) == ("validate", StepState.FAILED)
    events = list(service.watch(created.id, threading.Event()))
    assert [e.state for e in events][-1] == MigrationState.FAILED
    assert events[0].message == "created"
    with pytest.raises(FailedPrecondition):
        service.start(created.id)

    service.delete(created.id)
    with pytest.raises(NotFound):
        service.get(created.id)


def test_cancel_of_a_pending_migration_and_delete_only_when_ended(
    service: ControllerService,
) -> None:
    created = service.create(nobody_spec())
    with pytest.raises(FailedPrecondition):
        service.delete(created.id)
    cancelled = service.cancel(created.id)
    assert cancelled.state == MigrationState.CANCELLED
    with pytest.raises(FailedPrecondition):
        service.cancel(created.id)
    migrations, token = service.list(states=[MigrationState.CANCELLED])
    assert [m.id for m in migrations] == [created.id] and token == ""
    assert service.list(states=[MigrationState.COMPLETED]) == ([], "")


def test_a_migration_left_by_a_dead_controller_is_resumed_when_its_lease_expires(
    store: SqlMigrationStore, service: ControllerService
) -> None:
    created = service.create(nobody_spec())
    migration = store.get(created.id)
    # A controller that died right after saving the START transition, its lease still valid.
    store.acquire_lease(migration.id, "dead-controller", 3.0)
    transition = next_transition(migration.state, MigrationEvent.START)
    migration.state, migration.pending_action = transition.next_state, transition.action
    store.save(migration, lease_owner="dead-controller")

    service.resume_all()
    assert store.get(migration.id).state == MigrationState.VALIDATING  # not ours yet
    finished = service.wait(migration.id, 30)

    assert finished.state == MigrationState.FAILED
    assert "agents_reachable" in finished.error
    assert finished.pending_action is None


def test_watch_stops_when_asked(service: ControllerService) -> None:
    created = service.create(nobody_spec())
    stop = threading.Event()
    seen = []
    threading.Timer(0.5, stop.set).start()
    started = time.monotonic()
    for event in service.watch(created.id, stop):
        seen.append(event.message)
    assert seen == ["created"]
    assert time.monotonic() - started < 5
