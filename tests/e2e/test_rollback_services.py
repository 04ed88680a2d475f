"""The rollback's start of the source starts what ran before the migration, and only that: a
service of the project that had been stopped before stays stopped (StackRef.services, from
the source's running_services). Real agents, zfs-fuse pools, Docker engines A and B, the CLI."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable

import pytest
from migration_world import (
    World,
    containers,
    make_world_fixture,  # noqa: F401 (the make_world fixture)
    stackferry,
)

pytestmark = [pytest.mark.zfs, pytest.mark.docker]
IDLE = """\
  idle:
    image: local/busybox:1
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
"""


def test_a_service_stopped_before_the_migration_stays_stopped_after_the_rollback(
    make_world: Callable[..., World],
) -> None:
    world = make_world(healthy_after=600)  # the target never gets healthy: a rollback
    with world.compose_path.open("a") as compose:
        compose.write(IDLE)
    env = {**os.environ, "DOCKER_HOST": world.docker_a}
    for verb in ("up", "stop"):
        argv = ["docker-compose", "-p", world.project, "-f", str(world.compose_path), verb]
        subprocess.run([*argv, *(["-d"] if verb == "up" else []), "idle"], check=True, env=env)
    services = {
        c.labels["com.docker.compose.service"] for c in containers(world.docker_a, world.project)
    }
    assert services == {"writer", "idle"}

    run = stackferry(
        "migrate", *world.migrate_flags("--verify-timeout", "3"), state_dir=world.state_dir
    )
    assert run.returncode == 3, f"{run.stdout}\n{run.stderr}"
    assert "rolled_back" in run.stdout
    running = containers(world.docker_a, world.project, running_only=True)
    assert [c.labels["com.docker.compose.service"] for c in running] == ["writer"]
    assert not containers(world.docker_b, world.project, running_only=True)
