"""Controller daemons on PostgreSQL: `python -m stackferry.controller --db-url postgresql+psycopg://...`
drives a real migration between two real agents, and several controllers on the same database
never drive one migration twice.

Each test gets its own schema (tests/conftest.py's pg_schema_url), dropped after it, so
concurrent runs never share tables.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from migration_world import (
    Controllers,
    World,
    assert_migrated,
    bulk_send_moved,
    listed_migration,
    log_events,
    make_world_fixture,  # noqa: F401 (the make_world fixture)
    on_controller,
    snapshots_of,
    start_detached,
    steps_done,
    wait_for_status,
)

from stackferry.controller.store.sql import SqlMigrationStore

pytestmark = [pytest.mark.zfs, pytest.mark.docker, pytest.mark.postgres]

LEASE_SECONDS = 3
DATA_MIB = 8  # at 2 MiB/s: still sending when the first controller is killed


@pytest.fixture
def controllers(tmp_path: Path, pg_schema_url: str) -> Iterator[Controllers]:
    """Controller processes on one PostgreSQL schema."""
    made = Controllers(tmp_path, db_url=pg_schema_url, lease_seconds=LEASE_SECONDS)
    yield made
    made.stop_all()


@pytest.fixture
def world(make_world: Callable[..., World]) -> World:
    return make_world(data_mib=DATA_MIB)


def test_controllers_on_postgres_drive_a_migration_once_through_a_kill(
    world: World, controllers: Controllers, pg_schema_url: str
) -> None:
    # Two controllers start together on a fresh schema (both run the schema upgrade).
    first, second = controllers.start(), controllers.start()
    migration_id = start_detached(world, first, "--bwlimit", "2M", "--keep-snapshots")
    wait_for_status(world, first, migration_id, bulk_send_moved(1 << 20))
    # The second controller sees the migration in the shared database but leaves it alone.
    assert listed_migration(world, second, migration_id)["state"] == "BULK_SENDING"
    assert log_events(second, "resuming migration", migration_id) == 0

    first.stop(signal.SIGKILL)
    assert "bulk_send done" not in steps_done(pg_schema_url, migration_id), "killed late"
    third = controllers.start()
    # The lease of the killed controller expires; exactly one of the two survivors takes over.
    watched = on_controller(world, third, "watch", migration_id)
    assert watched.returncode == 0, f"{watched.stdout}\n{watched.stderr}"
    ended = listed_migration(world, second, migration_id)
    assert ended["state"] == "COMPLETED", ended
    resumed = [log_events(c, "resuming migration", migration_id) for c in (second, third)]
    assert sorted(resumed) == [0, 1], resumed
    drivers = [log_events(c, "driving", migration_id) for c in (first, second, third)]
    assert drivers[0] == 1 and sum(drivers) == 2, drivers

    # The stack runs on B with every line A wrote.
    assert_migrated(world)

    # The database holds one copy of each step: every step done once, the bulk data sent as
    # one stream (zfs-fuse cannot resume: the cut stream was discarded, then sent again).
    store = SqlMigrationStore(pg_schema_url)
    try:
        migration = store.get(migration_id)
    finally:
        store.close()
    done = steps_done(pg_schema_url, migration_id)
    assert len(done) == len(set(done)), done
    assert {"bulk_send done", "incremental_send done", "deploy done", "verify done"} <= set(done)
    steps = {s.name: s for s in migration.steps}
    data = DATA_MIB << 20
    assert data <= steps["bulk_send"].bytes_done < data + (1 << 20)
    received = snapshots_of(world.target_pool.name)
    assert received == snapshots_of(world.source_pool.name)
    # Both phases' snapshots, plus one per converge round the record lists: none taken twice.
    assert len(received) == 2 + len(migration.converge_rounds), (
        received,
        migration.converge_rounds,
    )
