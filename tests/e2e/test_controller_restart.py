"""A controller process killed with SIGKILL mid-migration (during the bulk send, during the
deploy) and started again on the same SQLite file: the migration completes, the data is copied
once, and only one controller drives it at a time."""

from __future__ import annotations

import json
import re
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from migration_world import (
    ControllerProcess,
    Controllers,
    World,
    assert_migrated,
    bulk_send_moved,
    listed_migration,
    make_world_fixture,  # noqa: F401 (the make_world fixture)
    on_controller,
    snapshots_of,
    start_detached,
    steps_done,
    wait_for_status,
)

pytestmark = [pytest.mark.zfs, pytest.mark.docker]

LEASE_SECONDS = 3
DATA_MIB = 8  # at 2 MiB/s: the kill comes after 1 MiB, seconds before the send could end
EVERY_STEP_DONE = {"bulk_send done", "incremental_send done", "deploy done", "verify done"}


@pytest.fixture
def controllers(tmp_path: Path) -> Iterator[Controllers]:
    """Controller processes sharing one state directory (one SQLite file)."""
    made = Controllers(tmp_path, lease_seconds=LEASE_SECONDS)
    yield made
    made.stop_all()


@pytest.fixture
def big_world(make_world: Callable[..., World]) -> World:
    return make_world(data_mib=DATA_MIB)


@pytest.fixture
def slow_deploy_world(make_world: Callable[..., World]) -> World:
    # Healthy only after 6 s: the deploy waits for it, which leaves time to kill the controller.
    return make_world(healthy_after=6)


def finish(world: World, controller: ControllerProcess, migration_id: str) -> dict[str, Any]:
    """Follows the migration to its end through the restarted controller."""
    watched = on_controller(world, controller, "watch", migration_id)
    events = [json.loads(line) for line in watched.stdout.splitlines() if line.strip()]
    assert events, watched.stderr
    assert watched.returncode == 0, f"{watched.stdout}\n{watched.stderr}"
    return listed_migration(world, controller, migration_id)


def assert_each_step_done_once(controllers: Controllers, migration_id: str) -> None:
    """From the store: one controller drove each step to its end, none drove one twice."""
    done = steps_done(controllers.store_url, migration_id)
    assert len(done) == len(set(done)), done
    assert set(done) >= EVERY_STEP_DONE, done


def test_killed_during_the_bulk_send(big_world: World, controllers: Controllers) -> None:
    world = big_world
    first = controllers.start()
    migration_id = start_detached(world, first, "--bwlimit", "2M", "--keep-snapshots")
    wait_for_status(world, first, migration_id, bulk_send_moved(1 << 20))
    before = {s["name"]: s for s in listed_migration(world, first, migration_id)["steps"]}
    first_snapshots = snapshots_of(world.source_pool.name)
    first.stop(signal.SIGKILL)
    assert "bulk_send done" not in steps_done(controllers.store_url, migration_id), "killed late"

    # Two controllers come back on the same database: only one of them drives the migration.
    second, _ = controllers.start(), controllers.start()
    ended = finish(world, second, migration_id)
    assert ended["state"] == "COMPLETED", ended
    assert_each_step_done_once(controllers, migration_id)
    assert_migrated(world)

    # Only the interrupted step ran again: the first snapshot was reused, not retaken.
    after = {s["name"]: s for s in ended["steps"]}
    for finished in ("validate", "snapshot"):
        assert after[finished]["started_unix"] == before[finished]["started_unix"]
    received = snapshots_of(world.target_pool.name)
    assert received == snapshots_of(world.source_pool.name)
    # Both phases' snapshots, plus one per converge round (sf-ID-1rN): none taken twice.
    phases = {f"sf-{migration_id}-1", f"sf-{migration_id}-2"}
    rounds = {name for name in received if re.fullmatch(rf"sf-{migration_id}-1r\d+", name)}
    assert set(received) == phases | rounds, received
    assert set(first_snapshots.items()) <= set(received.items())
    # zfs-fuse has no resumable receive: the interrupted stream was discarded by the target
    # and sent again once; the bytes the step reports are one copy of the data.
    data = DATA_MIB << 20
    assert data <= after["bulk_send"]["bytes_done"] < data + (1 << 20)


def test_killed_during_the_deploy(slow_deploy_world: World, controllers: Controllers) -> None:
    world = slow_deploy_world
    first = controllers.start()
    migration_id = start_detached(world, first, "--keep-snapshots", "--verify-timeout", "60")
    wait_for_status(world, first, migration_id, lambda s: s["state"] == "DEPLOYING")
    before = {s["name"]: s for s in listed_migration(world, first, migration_id)["steps"]}
    first.stop(signal.SIGKILL)
    assert "deploy done" not in steps_done(controllers.store_url, migration_id), "killed late"

    # Two controllers come back on the same database: only one of them drives the migration.
    second, _ = controllers.start(), controllers.start()
    ended = finish(world, second, migration_id)
    assert ended["state"] == "COMPLETED", ended
    assert_each_step_done_once(controllers, migration_id)
    assert_migrated(world)

    after = {s["name"]: s for s in ended["steps"]}
    for copied in ("bulk_send", "incremental_send"):
        # No second copy: the sends ran once, before the kill, and were not repeated.
        assert after[copied]["state"] == "done"
        assert after[copied]["started_unix"] == before[copied]["started_unix"]
        assert after[copied]["bytes_done"] == before[copied]["bytes_done"]
    assert snapshots_of(world.target_pool.name) == snapshots_of(world.source_pool.name)
