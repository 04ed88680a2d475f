"""Controller daemons on PostgreSQL: `python -m controller --db-url postgresql+psycopg://...`
drives a real migration between two real agents, and several controllers on the same database
never drive one migration twice.

Each test gets its own schema (selected with the connection's search_path), dropped after it,
so concurrent runs never share tables.
"""

from __future__ import annotations

import json
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from migration_world import (
    ControllerProcess,
    World,
    build_world,
    containers,
    launch_controller,
    parsed,
    read_in_container,
    remove_world,
    snapshots_of,
    stackferry,
)

from controller.domain.model import EventKind
from controller.store.sql import SqlMigrationStore

if TYPE_CHECKING:
    from conftest import AgentProcess, Pool

pytestmark = [pytest.mark.zfs, pytest.mark.docker, pytest.mark.postgres]

LEASE_SECONDS = 3
DATA_MIB = 16


@pytest.fixture
def db_url(pg_url: str) -> Iterator[str]:
    """A fresh schema on the test PostgreSQL, the URL selecting it; dropped afterwards."""
    schema = f"sf_e2e_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in pg_url else "?"
    try:
        yield f"{pg_url}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


class Controllers:
    """Controller processes on one PostgreSQL schema; all stopped at the end."""

    def __init__(self, tmp_path: Path, db_url: str) -> None:
        self.tmp_path = tmp_path
        self.db_url = db_url
        self.started: list[ControllerProcess] = []

    def start(self) -> ControllerProcess:
        n = len(self.started)
        process = launch_controller(
            self.tmp_path / f"controller-{n}-state",  # holds no database: PostgreSQL does
            self.tmp_path / f"controller-{n}.log",
            lease_seconds=LEASE_SECONDS,
            extra=("--db-url", self.db_url, "--owner-id", f"pg-e2e-{n}"),
        )
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.started:
            process.stop()


@pytest.fixture
def controllers(tmp_path: Path, db_url: str) -> Iterator[Controllers]:
    made = Controllers(tmp_path, db_url)
    yield made
    made.stop_all()


@pytest.fixture
def world(
    zfs_pool: Callable[..., Pool],
    start_agent: Callable[..., AgentProcess],
    tmp_path: Path,
    docker_hosts: tuple[str, str],
) -> Iterator[World]:
    built = build_world(zfs_pool, start_agent, tmp_path, docker_hosts, data_mib=DATA_MIB)
    yield built
    remove_world(built)


def cli(world: World, controller: ControllerProcess, *args: str) -> Any:
    run = stackferry(
        *args, "--controller", controller.address, "--insecure", "--json", state_dir=world.state_dir
    )
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    return parsed(run)


def wait_for_bulk_bytes(world: World, controller: ControllerProcess, migration_id: str) -> None:
    deadline = time.monotonic() + 90
    while True:
        status = cli(world, controller, "status", migration_id)
        if status["current_step"] == "bulk_send" and status["bytes_done"] > (1 << 20):
            return
        assert status["state"] not in ("FAILED", "ROLLED_BACK", "CANCELLED", "COMPLETED"), status
        assert time.monotonic() < deadline, status
        time.sleep(0.1)


def log_lines(controller: ControllerProcess, message: str, migration_id: str) -> int:
    """How many JSON log lines of this controller say `message` about the migration."""
    found = 0
    for line in controller.log().splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if entry.get("event") == message and entry.get("migration_id") == migration_id:
            found += 1
    return found


def test_controllers_on_postgres_drive_a_migration_once_through_a_kill(
    world: World, controllers: Controllers, db_url: str
) -> None:
    # Two controllers start together on a fresh schema (both run the schema upgrade).
    first, second = controllers.start(), controllers.start()
    started = cli(
        world,
        first,
        "migrate",
        *world.migrate_flags("--detach", "--bwlimit", "2M", "--keep-snapshots"),
    )
    migration_id = str(started["id"])
    wait_for_bulk_bytes(world, first, migration_id)
    # The second controller sees the migration in the shared database but leaves it alone.
    (listed,) = [m for m in cli(world, second, "list") if m["id"] == migration_id]
    assert listed["state"] == "BULK_SENDING"
    assert log_lines(second, "resuming migration", migration_id) == 0

    first.stop(signal.SIGKILL)
    third = controllers.start()
    # The lease of the killed controller expires; exactly one of the two survivors takes over.
    watched = stackferry(
        "watch",
        migration_id,
        "--controller",
        third.address,
        "--insecure",
        "--json",
        state_dir=world.state_dir,
    )
    assert watched.returncode == 0, f"{watched.stdout}\n{watched.stderr}"
    (ended,) = [m for m in cli(world, second, "list") if m["id"] == migration_id]
    assert ended["state"] == "COMPLETED", ended
    resumed = [log_lines(c, "resuming migration", migration_id) for c in (second, third)]
    assert sorted(resumed) == [0, 1], resumed
    drivers = [log_lines(c, "driving", migration_id) for c in (first, second, third)]
    assert drivers[0] == 1 and sum(drivers) == 2, drivers

    # The stack runs on B with every line A wrote.
    assert not containers(world.docker_a, world.project, running_only=True)
    written_on_a = world.log_file.read_text()
    assert read_in_container(world.docker_b, world.project, "/data/log.txt").startswith(
        written_on_a
    )

    # The database holds one copy of each step: every step done once, the bulk data sent as
    # one stream (zfs-fuse cannot resume: the cut stream was discarded, then sent again).
    store = SqlMigrationStore(db_url)
    try:
        migration = store.get(migration_id)
        events = store.list_events(migration_id, limit=10000)
    finally:
        store.close()
    done = [e.message for e in events if e.kind == EventKind.STATE and e.message.endswith(" done")]
    assert len(done) == len(set(done)), done
    assert {"bulk_send done", "incremental_send done", "deploy done", "verify done"} <= set(done)
    steps = {s.name: s for s in migration.steps}
    data = DATA_MIB << 20
    assert data <= steps["bulk_send"].bytes_done < data + (1 << 20)
    received = snapshots_of(world.target_pool.name)
    assert received == snapshots_of(world.source_pool.name) and len(received) == 2
