"""ResumeMigration on a real Controller server (port 0) over the real service and a SQLite store:
the status code of each case, and a NEEDS_ATTENTION migration that runs its rollback again.
The agents are loopback ports nothing listens on: no step gets anywhere, which is not the
point; what the call records and answers is."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from stackferry.api.controller.v1 import controller_pb2 as pb
from stackferry.api.controller.v1 import controller_pb2_grpc as pb_grpc
from stackferry.common.grpc_options import open_channel
from stackferry.controller.agents import AgentDialer
from stackferry.controller.config import ControllerConfig
from stackferry.controller.domain.machine import MigrationEvent
from stackferry.controller.domain.model import (
    Migration,
    MigrationSpec,
    MigrationState,
    new_migration,
)
from stackferry.controller.engine.record import save_transition
from stackferry.controller.server import ControllerServer
from stackferry.controller.service import ControllerService
from stackferry.controller.store.sql import SqlMigrationStore

OTHER = "another-controller"


@dataclass
class Api:
    stub: pb_grpc.ControllerStub
    store: SqlMigrationStore


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    store = SqlMigrationStore(f"sqlite:///{tmp_path / 'controller.db'}")
    service = ControllerService(store, AgentDialer(None), owner_id="rpc-test")
    server = ControllerServer(ControllerConfig(listen="127.0.0.1:0", insecure=True), service)
    with open_channel(server.address) as channel:
        yield Api(pb_grpc.ControllerStub(channel), store)
    server.stop(grace=1)
    service.shutdown()
    store.close()


def nowhere() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


def stored(store: SqlMigrationStore, *events: MigrationEvent) -> Migration:
    """A migration taken through `events` by OTHER, which then let go of its lease."""
    spec = MigrationSpec(
        name="app",
        compose_path="/srv/app/docker-compose.yml",
        source_agent=nowhere(),
        target_agent=nowhere(),
        target_dataset="tank/migrated",
        target_base="/srv/migrated",
    )
    migration = store.create(new_migration(spec, 0.0))
    store.acquire_lease(migration.id, OTHER, 60)
    for event in events:
        migration = save_transition(store, migration, event, lambda _: None, lease_owner=OTHER)
    store.release_lease(migration.id, OTHER)
    return migration


def code_of(stub: pb_grpc.ControllerStub, migration_id: str) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as raised:
        stub.ResumeMigration(pb.MigrationRef(id=migration_id))
    error = raised.value
    return error.code(), str(error.details())  # type: ignore[attr-defined]


UNTIL_ROLLING_BACK = (
    MigrationEvent.START,
    MigrationEvent.STEP_OK,  # validated
    MigrationEvent.STEP_OK,  # snapshot taken
    MigrationEvent.STEP_OK,  # bulk sent
    MigrationEvent.STEP_FAILED,  # the stop failed: roll back
)


def test_unknown_never_started_and_ended_migrations_are_refused(api: Api) -> None:
    assert code_of(api.stub, "0" * 32)[0] == grpc.StatusCode.NOT_FOUND
    pending = stored(api.store)
    code, details = code_of(api.stub, pending.id)
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert "never started" in details
    cancelled = stored(api.store, MigrationEvent.CANCEL)
    assert code_of(api.stub, cancelled.id)[0] == grpc.StatusCode.FAILED_PRECONDITION


def test_one_a_live_controller_drives_is_aborted_naming_it(api: Api) -> None:
    driven = stored(api.store, MigrationEvent.START)
    api.store.acquire_lease(driven.id, OTHER, 60)
    code, details = code_of(api.stub, driven.id)
    assert code == grpc.StatusCode.ABORTED
    assert OTHER in details
    assert api.store.get(driven.id).version == driven.version


def test_needs_attention_runs_the_rollback_again(api: Api) -> None:
    halted = stored(api.store, *UNTIL_ROLLING_BACK, MigrationEvent.TARGET_UNKNOWN)
    assert halted.state == MigrationState.NEEDS_ATTENTION
    assert halted.pending_action is None

    resumed = api.stub.ResumeMigration(pb.MigrationRef(id=halted.id))
    assert resumed.state == pb.ROLLING_BACK
    events = api.store.list_events(halted.id, after_id=0)
    resumes = [e for e in events if e.message == MigrationEvent.RESUME.value]
    assert [e.state for e in resumes] == [MigrationState.ROLLING_BACK]
    # The rollback runs again (its agents are unreachable here, so it keeps trying).
    assert api.store.get(halted.id).pending_action == "rollback"
