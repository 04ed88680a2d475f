"""What an operator sees of the controller: log lines that name their migration (with the
error when a step fails) and Prometheus metrics from a real controller process.

The agents are a closed loopback port, so steps fail for real (unreachable agents)."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
import structlog
from conftest import free_port
from migration_world import launch_controller
from structlog.testing import capture_logs

from stackferry.api.controller.v1 import controller_pb2 as pb
from stackferry.api.controller.v1 import controller_pb2_grpc as pb_grpc
from stackferry.common.grpc_options import open_channel
from stackferry.controller.agents import AgentDialer
from stackferry.controller.config import sqlite_url
from stackferry.controller.domain.machine import Action
from stackferry.controller.domain.model import (
    DatasetPlan,
    MigrationSpec,
    MigrationState,
    new_migration,
)
from stackferry.controller.engine.driver import Driver
from stackferry.controller.engine.retry import RetryPolicy
from stackferry.controller.planner import Planner
from stackferry.controller.service import ControllerService
from stackferry.controller.store.sql import SqlMigrationStore

Logs = list[MutableMapping[str, Any]]


def closed_port() -> str:
    return f"127.0.0.1:{free_port()}"


def nobody_spec() -> MigrationSpec:
    return MigrationSpec(
        name="web",
        compose_path="/srv/web/docker-compose.yml",
        source_agent=closed_port(),
        target_agent=closed_port(),
        target_dataset="dst/stacks",
        target_base="/mnt/stacks",
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlMigrationStore]:
    opened = SqlMigrationStore(sqlite_url(tmp_path / "controller.db"))
    yield opened
    opened.close()


@pytest.fixture
def logs() -> Iterator[Logs]:
    # The daemon's processors merge bound context vars; the capture must do the same.
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as entries:
        yield entries


def test_a_failed_validation_is_logged_with_the_migration_and_the_reason(
    store: SqlMigrationStore, logs: Logs
) -> None:
    service = ControllerService(store, AgentDialer(), owner_id="here", lease_ttl=1.0)
    try:
        created = service.create(nobody_spec(), start=True)
        assert service.wait(created.id, 30).state == MigrationState.FAILED
    finally:
        service.shutdown()

    about_it = [e for e in logs if e["event"] != "migrations by state not counted"]
    assert about_it and all(e.get("migration_id") == created.id for e in about_it)
    (failed,) = [e for e in logs if e["event"] == "step failed"]
    assert failed["log_level"] == "error" and failed["step"] == "validate"
    assert "agents_reachable" in failed["error"]
    events = [e["event"] for e in logs]
    assert "migration created" in events and "step started" in events
    changes = [e for e in logs if e["event"] == "state changed"]
    assert changes[-1]["state"] == "FAILED" and changes[-1]["log_level"] == "warning"


def test_a_bulk_send_that_cannot_reach_the_agents_logs_its_error(
    store: SqlMigrationStore, logs: Logs
) -> None:
    migration = store.create(new_migration(nobody_spec(), time.time()))
    store.acquire_lease(migration.id, "here", 30)
    migration.state, migration.pending_action = MigrationState.BULK_SENDING, Action.BULK_SEND
    migration.datasets = [DatasetPlan("src/web", "/srv/web", "dst/stacks/web", "/mnt/stacks/web")]
    store.save(migration, lease_owner="here")
    dialer = AgentDialer()
    # A short window: the agents never come back, and retrying them is what is looked at.
    retry = RetryPolicy(window_seconds=1.0, pause_seconds=0.2)
    driver = Driver(store, dialer, Planner(dialer), "here", 30, lambda _event: None, retry)
    try:
        driver.drive(migration.id)
    finally:
        dialer.close()

    assert store.get(migration.id).state == MigrationState.FAILED
    assert all(e.get("migration_id") == migration.id for e in logs)
    retried = [e for e in logs if e["event"] == "agent unavailable, retrying"]
    assert retried and all(e["log_level"] == "warning" for e in retried)
    waits = [e.message for e in store.list_events(migration.id) if "waiting for agent" in e.message]
    assert waits and all(migration.spec.source_agent in w for w in waits), waits
    failed = {e["step"]: e for e in logs if e["event"] == "step failed"}
    # bulk_send, then the discard FAILING owes (the source is as unreachable).
    assert set(failed) == {"bulk_send", "discard"}
    assert all(e["log_level"] == "error" and e["error"] for e in failed.values())
    assert failed["bulk_send"]["error"] in store.get(migration.id).error


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
        return str(reply.read().decode())


def test_a_controller_with_metrics_listen_serves_migrations_by_state(tmp_path: Path) -> None:
    port = free_port()  # metrics_listen has no ready file of its own
    controller = launch_controller(
        tmp_path / "state",
        tmp_path / "controller.log",
        extra=("--metrics-listen", f"127.0.0.1:{port}"),
    )
    try:
        assert "stackferry_migrations" in scrape(port)
        spec = nobody_spec()
        with open_channel(controller.address) as channel:
            stub = pb_grpc.ControllerStub(channel)
            request = pb.CreateMigrationRequest(
                spec=pb.MigrationSpec(
                    name=spec.name,
                    compose_path=spec.compose_path,
                    source_agent=spec.source_agent,
                    target_agent=spec.target_agent,
                    target_dataset=spec.target_dataset,
                    target_base=spec.target_base,
                )
            )
            created = stub.CreateMigration(request)
            assert 'stackferry_migrations{state="PENDING"} 1.0' in scrape(port)
            stub.StartMigration(pb.MigrationRef(id=created.id))
            deadline = time.monotonic() + 60
            while stub.GetMigration(pb.MigrationRef(id=created.id)).state != pb.FAILED:
                assert time.monotonic() < deadline, "the migration did not fail"
                time.sleep(0.2)
        text = scrape(port)
        assert 'stackferry_migrations{state="FAILED"} 1.0' in text
        assert 'stackferry_migrations{state="PENDING"}' not in text
        failed = 'stackferry_migration_step_seconds_count{outcome="failed",step="validate"} 1.0'
        assert failed in text
    finally:
        controller.stop()
