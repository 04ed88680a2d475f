"""A controller process killed with SIGKILL mid-migration (during the bulk send, during the
deploy) and started again on the same SQLite file: the migration completes, the data is copied
once, and only one controller drives it at a time."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
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

if TYPE_CHECKING:
    from conftest import AgentProcess, Pool

pytestmark = [pytest.mark.zfs, pytest.mark.docker]

LEASE_SECONDS = 3


class Controllers:
    """Controller processes sharing one state directory; all stopped at the end."""

    def __init__(self, tmp_path: Path) -> None:
        self.state_dir = tmp_path / "controller-state"
        self.tmp_path = tmp_path
        self.started: list[ControllerProcess] = []

    def start(self) -> ControllerProcess:
        log = self.tmp_path / f"controller-{len(self.started)}.log"
        process = launch_controller(self.state_dir, log, lease_seconds=LEASE_SECONDS)
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.started:
            process.stop()


@pytest.fixture
def controllers(tmp_path: Path) -> Iterator[Controllers]:
    made = Controllers(tmp_path)
    yield made
    made.stop_all()


def make_world(
    zfs_pool: Callable[..., Pool],
    start_agent: Callable[..., AgentProcess],
    tmp_path: Path,
    docker_hosts: tuple[str, str],
    **kwargs: Any,
) -> Iterator[World]:
    built = build_world(zfs_pool, start_agent, tmp_path, docker_hosts, **kwargs)
    yield built
    remove_world(built)


@pytest.fixture
def big_world(
    zfs_pool: Callable[..., Pool],
    start_agent: Callable[..., AgentProcess],
    tmp_path: Path,
    docker_hosts: tuple[str, str],
) -> Iterator[World]:
    yield from make_world(zfs_pool, start_agent, tmp_path, docker_hosts, data_mib=24)


@pytest.fixture
def slow_deploy_world(
    zfs_pool: Callable[..., Pool],
    start_agent: Callable[..., AgentProcess],
    tmp_path: Path,
    docker_hosts: tuple[str, str],
) -> Iterator[World]:
    # Healthy only after 6 s: the deploy waits for it, which leaves time to kill the controller.
    yield from make_world(zfs_pool, start_agent, tmp_path, docker_hosts, healthy_after=6)


def cli(world: World, controller: ControllerProcess, *args: str) -> Any:
    run = stackferry(
        *args, "--controller", controller.address, "--insecure", "--json", state_dir=world.state_dir
    )
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    return parsed(run)


def start_migration(world: World, controller: ControllerProcess, *flags: str) -> str:
    started = cli(world, controller, "migrate", *world.migrate_flags("--detach", *flags))
    return str(started["id"])


def wait_until(
    world: World,
    controller: ControllerProcess,
    migration_id: str,
    reached: Callable[[dict[str, Any]], bool],
    timeout: float = 90,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status = cli(world, controller, "status", migration_id)
        if reached(status):
            return status
        assert status["state"] not in ("FAILED", "ROLLED_BACK", "CANCELLED", "COMPLETED"), status
        assert time.monotonic() < deadline, status
        time.sleep(0.1)


def migration(world: World, controller: ControllerProcess, migration_id: str) -> dict[str, Any]:
    (found,) = [m for m in cli(world, controller, "list") if m["id"] == migration_id]
    return found


def finish(world: World, controller: ControllerProcess, migration_id: str) -> dict[str, Any]:
    """Follows the migration to its end through the restarted controller."""
    watched = stackferry(
        "watch",
        migration_id,
        "--controller",
        controller.address,
        "--insecure",
        "--json",
        state_dir=world.state_dir,
    )
    events = [json.loads(line) for line in watched.stdout.splitlines() if line.strip()]
    assert events, watched.stderr
    assert watched.returncode == 0, f"{watched.stdout}\n{watched.stderr}"
    return migration(world, controller, migration_id)


def assert_migrated(world: World) -> None:
    assert not containers(world.docker_a, world.project, running_only=True)
    assert len(containers(world.docker_b, world.project, running_only=True)) == 1
    written_on_a = world.log_file.read_text()
    assert read_in_container(world.docker_b, world.project, "/data/log.txt").startswith(
        written_on_a
    )


def drivers_of(controller: ControllerProcess, migration_id: str) -> int:
    """How many times this controller took up the migration after a restart."""
    return sum(
        1
        for line in controller.log().splitlines()
        if "resuming migration" in line and migration_id in line
    )


def test_killed_during_the_bulk_send(big_world: World, controllers: Controllers) -> None:
    world = big_world
    first = controllers.start()
    migration_id = start_migration(world, first, "--bwlimit", "2M", "--keep-snapshots")
    wait_until(
        world,
        first,
        migration_id,
        lambda s: s["current_step"] == "bulk_send" and s["bytes_done"] > (1 << 20),
    )
    before = {s["name"]: s for s in migration(world, first, migration_id)["steps"]}
    first_snapshots = snapshots_of(world.source_pool.name)
    first.stop(signal.SIGKILL)

    # Two controllers come back on the same database: only one of them drives the migration.
    second, third = controllers.start(), controllers.start()
    ended = finish(world, second, migration_id)
    assert ended["state"] == "COMPLETED", ended
    assert drivers_of(second, migration_id) + drivers_of(third, migration_id) == 1
    assert_migrated(world)

    # Only the interrupted step ran again: the first snapshot was reused, not retaken.
    after = {s["name"]: s for s in ended["steps"]}
    for finished in ("validate", "snapshot"):
        assert after[finished]["started_unix"] == before[finished]["started_unix"]
    received = snapshots_of(world.target_pool.name)
    assert received == snapshots_of(world.source_pool.name)
    assert len(received) == 2
    assert set(first_snapshots.items()) <= set(received.items())
    # zfs-fuse has no resumable receive: the interrupted stream was discarded by the target
    # and sent again once; the bytes the step reports are one copy of the data.
    data = 24 << 20
    assert data <= after["bulk_send"]["bytes_done"] < data + (1 << 20)


def test_killed_during_the_deploy(slow_deploy_world: World, controllers: Controllers) -> None:
    world = slow_deploy_world
    first = controllers.start()
    migration_id = start_migration(world, first, "--keep-snapshots", "--verify-timeout", "60")
    wait_until(world, first, migration_id, lambda s: s["state"] == "DEPLOYING")
    before = {s["name"]: s for s in migration(world, first, migration_id)["steps"]}
    first.stop(signal.SIGKILL)

    # Two controllers come back on the same database: only one of them drives the migration.
    second, third = controllers.start(), controllers.start()
    ended = finish(world, second, migration_id)
    assert ended["state"] == "COMPLETED", ended
    assert drivers_of(second, migration_id) + drivers_of(third, migration_id) == 1
    assert_migrated(world)

    after = {s["name"]: s for s in ended["steps"]}
    for copied in ("bulk_send", "incremental_send"):
        # No second copy: the sends ran once, before the kill, and were not repeated.
        assert after[copied]["state"] == "done"
        assert after[copied]["started_unix"] == before[copied]["started_unix"]
        assert after[copied]["bytes_done"] == before[copied]["bytes_done"]
    assert snapshots_of(world.target_pool.name) == snapshots_of(world.source_pool.name)
