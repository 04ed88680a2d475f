"""The pre-create (issue 12), end to end on real zfs-fuse pools, real agents and both Docker
engines: the target's network and containers are created while the app still runs on the
source, the deploy after the stop starts those very containers, and a migration that ends
before the stop leaves no container or network of the project on the target, the source
running. The stack's compose file lives in its dataset (migration_world), so the deploy also
mounts over the directory the pre-create wrote the compose file into.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import docker
import pytest
from migration_world import (
    IMAGE,
    PROJECT_LABEL,
    WRITER,
    World,
    containers,
    make_world_fixture,  # noqa: F401 (the make_world fixture)
    spec_for,
    wait_for_lines,
)
from test_downtime import LINK_LIMIT, Writer, stop_writer_at_the_stop

from stackferry.controller.agents import AgentDialer
from stackferry.controller.config import sqlite_url
from stackferry.controller.domain.machine import Action
from stackferry.controller.domain.model import Migration, MigrationState
from stackferry.controller.service import ControllerService
from stackferry.controller.store.sql import SqlMigrationStore

pytestmark = [pytest.mark.zfs, pytest.mark.docker]

MIGRATION_TIMEOUT = 300
CREATED = "target containers and networks created"
# Slower than the writer's 512 KiB/s by little: each converge round's delta takes over 1 s,
# so the rounds (5 at most) go on for a while after the pre-create.
SLOW_LINK = 640 << 10


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ControllerService]:
    store = SqlMigrationStore(sqlite_url(tmp_path / "controller.db"))
    running = ControllerService(store, AgentDialer(), owner_id="e2e-precreate", lease_ttl=5)
    yield running
    running.shutdown()
    store.close()


def engine_time(stamp: str) -> float:
    """Docker's RFC 3339 time with nanoseconds as a Unix time."""
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    return datetime.fromisoformat(whole + "+00:00").timestamp() + float(f"0.{fraction or 0}")


def networks(docker_host: str, project: str) -> list[dict[str, object]]:
    client = docker.DockerClient(base_url=docker_host)
    try:
        found = client.networks.list(filters={"label": f"{PROJECT_LABEL}={project}"})
        return [n.attrs for n in found]
    finally:
        client.close()


def ids_at_the_stop(service: ControllerService, migration_id: str, world: World) -> list[str]:
    """Fills (from a thread) with the ids of the target's containers of the project as the
    stop is asked for."""
    seen: list[str] = []

    def watch() -> None:
        deadline = time.monotonic() + MIGRATION_TIMEOUT
        while time.monotonic() < deadline:
            m = service.get(migration_id)
            if m.source_stopped_at is not None:
                seen.extend(c.id for c in containers(world.docker_b, world.project))
                return
            if m.state.is_halted:
                return
            time.sleep(0.02)

    threading.Thread(target=watch, daemon=True).start()
    return seen


def messages(service: ControllerService, m: Migration) -> list[tuple[str, str]]:
    """The events recorded so far (watch would wait for the end)."""
    return [(e.step, e.message) for e in service.store.list_events(m.id, limit=100_000)]


def test_the_deploy_starts_the_containers_created_before_the_stop(
    make_world: Callable[..., World], service: ControllerService
) -> None:
    world = make_world(data_mib=8)
    with Writer(world.stack_dir / "data" / "fill.bin") as writer:
        spec = spec_for(world, bandwidth_limit_bytes_per_second=LINK_LIMIT)
        migration = service.create(spec, start=True)
        stop_writer_at_the_stop(service, migration.id, writer)
        at_the_stop = ids_at_the_stop(service, migration.id, world)
        finished = service.wait(migration.id, MIGRATION_TIMEOUT)
    assert finished.state == MigrationState.COMPLETED, finished.error
    stopped_at = finished.source_stopped_at
    assert stopped_at is not None

    # In the record: created in the bulk step, before the stop step began.
    log = messages(service, finished)
    created = [i for i, (step, text) in enumerate(log) if text.startswith(CREATED)]
    assert len(created) == 1 and log[created[0]][0] == "bulk_send", log
    started = [text for step, text in log if step == "deploy" and text.startswith("the pre-c")]
    assert len(started) == 1 and "started through the engine" in started[0], log
    prepared = [step for step, text in log if "receive tickets of the final phase" in text]
    assert prepared == ["bulk_send"], log  # the final delta's, asked before the stop
    stop_step = finished.step(Action.STOP_SOURCE)
    assert stop_step.started_at is not None and stop_step.started_at >= stopped_at - 1

    # On the engine: the containers that run are the ones there at the stop, created before
    # it and started after it; the project's network too was created before the stop.
    running = containers(world.docker_b, world.project, running_only=True)
    assert running and sorted(c.id for c in running) == sorted(at_the_stop), at_the_stop
    for container in running:
        assert engine_time(container.attrs["Created"]) < stopped_at, container.attrs["Created"]
        assert engine_time(container.attrs["State"]["StartedAt"]) > stopped_at
    made = networks(world.docker_b, world.project)
    assert made and all(engine_time(str(n["Created"])) < stopped_at for n in made), made
    # The data arrived whole into the dataset mounted over the pre-create's compose dir.
    received = Path(finished.datasets[0].target_mountpoint) / "data" / "fill.bin"
    assert received.stat().st_size == (world.stack_dir / "data" / "fill.bin").stat().st_size


def test_a_migration_cancelled_after_the_pre_create_leaves_no_container_on_the_target(
    make_world: Callable[..., World], service: ControllerService
) -> None:
    # A failure before the stop takes the same way as this cancel (the discard action):
    # the fake matrix (tests/unit/test_fault_matrix.py, step pre_create) holds the failures.
    world = make_world(data_mib=2)
    before = {
        c.id: c.attrs["State"]["StartedAt"] for c in containers(world.docker_a, world.project)
    }
    with Writer(world.stack_dir / "data" / "fill.bin"):
        spec = spec_for(world, bandwidth_limit_bytes_per_second=SLOW_LINK)
        migration = service.create(spec, start=True)
        deadline = time.monotonic() + MIGRATION_TIMEOUT
        while not any(text.startswith(CREATED) for _, text in messages(service, migration)):
            assert time.monotonic() < deadline, "no pre-create"
            assert service.get(migration.id).source_stopped_at is None, "stopped first"
            time.sleep(0.05)
        assert len(containers(world.docker_b, world.project)) == 1, "not pre-created"
        service.cancel(migration.id)
        ended = service.wait(migration.id, MIGRATION_TIMEOUT)
    assert ended.state == MigrationState.CANCELLED, ended.error
    assert ended.source_stopped_at is None, "the cancel came after the stop"
    assert containers(world.docker_b, world.project) == []
    assert networks(world.docker_b, world.project) == []
    assert not Path(ended.datasets[0].target_mountpoint).exists()
    # The source's container ran throughout: the same one, never restarted.
    source = containers(world.docker_a, world.project, running_only=True)
    assert {c.id: c.attrs["State"]["StartedAt"] for c in source} == before


def long_syntax_bind(world: World) -> None:
    """The world's stack again, its data bound with compose's long syntax (`type: bind`),
    which, unlike the short syntax, refuses a bind source that does not exist."""
    world.compose_path.write_text(
        "services:\n"
        "  writer:\n"
        f"    image: {IMAGE}\n"
        f'    command: ["sh", "-c", "{WRITER}"]\n'
        "    volumes:\n"
        "      - type: bind\n"
        f"        source: {world.stack_dir / 'data'}\n"
        "        target: /data\n"
    )
    up = ["docker-compose", "-p", world.project, "-f", str(world.compose_path), "up", "-d"]
    env = {**os.environ, "DOCKER_HOST": world.docker_a}
    subprocess.run(up, check=True, capture_output=True, timeout=120, env=env)
    wait_for_lines(world, 5)


def test_a_bind_into_a_dataset_not_mounted_yet_is_created_by_the_deploy_after_the_stop(
    make_world: Callable[..., World], service: ControllerService
) -> None:
    # Before the stop the received dataset is not mounted: the bind source does not exist
    # on the target, `up --no-start` fails, and the migration goes on without a pre-create.
    world = make_world(data_mib=2)
    long_syntax_bind(world)
    migration = service.create(spec_for(world), start=True)
    at_the_stop = ids_at_the_stop(service, migration.id, world)
    finished = service.wait(migration.id, MIGRATION_TIMEOUT)
    assert finished.state == MigrationState.COMPLETED, finished.error
    stopped_at = finished.source_stopped_at
    assert stopped_at is not None

    log = messages(service, finished)
    why = [text for step, text in log if text.startswith("not pre-created: ")]
    assert len(why) == 1 and "bind source path does not exist" in why[0], log
    assert why[0].endswith("the deploy after the stop creates the stack"), why
    assert not any(text.startswith(CREATED) for _, text in log), log
    assert ("deploy", "compose up") in [(s, t.partition(" in ")[0]) for s, t in log], log
    # The failed create left nothing: no container at the stop, and the containers and the
    # network that serve were created after it.
    assert at_the_stop == []
    running = containers(world.docker_b, world.project, running_only=True)
    assert len(running) == 1
    assert engine_time(running[0].attrs["Created"]) > stopped_at
    made = networks(world.docker_b, world.project)
    assert len(made) == 1 and engine_time(str(made[0]["Created"])) > stopped_at, made
    mounted = Path(finished.datasets[0].target_mountpoint)
    assert (mounted / "data" / "blob.bin").stat().st_size == 2 << 20
