"""Compose projects end to end, on the real engines (docker-compose 1.29 on both): the source
stop gives each service its own stop_grace_period, and validate refuses, before anything is
touched, what the source's or the target's compose CLI would refuse."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from migration_world import (
    IMAGE,
    World,
    compose_text,
    containers,
    make_world_fixture,  # noqa: F401 (the make_world fixture)
    spec_for,
)

from stackferry.controller.agents import AgentDialer
from stackferry.controller.config import sqlite_url
from stackferry.controller.domain.model import MigrationState
from stackferry.controller.service import ControllerService
from stackferry.controller.store.sql import SqlMigrationStore

pytestmark = [pytest.mark.zfs, pytest.mark.docker]

MIGRATION_TIMEOUT = 300
# sleep as PID 1 has no SIGTERM handler, so only the SIGKILL at the end of its grace ends it.
STUBBORN = f"""\
  stubborn:
    image: {IMAGE}
    command: ["sleep", "3600"]
    stop_grace_period: 2s
"""
# Needs 20 s after SIGTERM to shut down cleanly, then leaves its marker on the dataset.
CAREFUL = f"""\
  careful:
    image: {IMAGE}
    command: ["sh", "-c", "trap 'sleep 20; echo clean > /data/clean-shutdown; exit 0' TERM; \
while true; do sleep 1; done"]
    stop_grace_period: 60s
    volumes:
      - {{data}}:/data
"""


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ControllerService]:
    store = SqlMigrationStore(sqlite_url(tmp_path / "controller.db"))
    running = ControllerService(store, AgentDialer(), owner_id="e2e", lease_ttl=5)
    yield running
    running.shutdown()
    store.close()


def restack(world: World, compose: str) -> None:
    """The world's project, running on engine A with this compose file instead."""
    world.compose_path.write_text(compose)
    up = ["docker-compose", "-p", world.project, "-f", str(world.compose_path), "up", "-d"]
    env = {**os.environ, "DOCKER_HOST": world.docker_a}
    done = subprocess.run(up, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr


def stop_messages(service: ControllerService, migration_id: str) -> list[str]:
    events = service.watch(migration_id, threading.Event())
    return [e.message for e in events if e.step == "stop_source"]


def datasets_of(pool: str) -> list[str]:
    listed = subprocess.run(
        ["zfs", "list", "-H", "-o", "name", "-r", pool], capture_output=True, text=True, check=True
    )
    return listed.stdout.split()


def test_a_service_ignoring_sigterm_is_killed_when_its_2s_grace_ends(
    make_world: Callable[..., World], service: ControllerService
) -> None:
    world = make_world()
    restack(world, compose_text(world.stack_dir / "data") + STUBBORN)
    migration = service.create(spec_for(world), start=True)
    finished = service.wait(migration.id, MIGRATION_TIMEOUT)
    assert finished.state == MigrationState.COMPLETED, finished.error

    stop = next(s for s in finished.steps if s.name == "stop_source")
    assert stop.started_at is not None and stop.ended_at is not None
    # bounded by the grace period (2 s), not by a fixed 30 s
    assert stop.ended_at - stop.started_at < 4
    messages = stop_messages(service, migration.id)
    assert any(m.startswith("stubborn: killed after 2 s") for m in messages), messages
    assert any("writer: stopped cleanly" in m for m in messages), messages
    assert any("killed before they finished" in m and "stubborn" in m for m in messages)


def test_a_service_needing_20s_of_its_60s_grace_is_not_killed(
    make_world: Callable[..., World], service: ControllerService
) -> None:
    world = make_world()
    data = world.stack_dir / "data"
    restack(world, compose_text(data) + CAREFUL.format(data=data))
    migration = service.create(spec_for(world), start=True)
    finished = service.wait(migration.id, MIGRATION_TIMEOUT)
    assert finished.state == MigrationState.COMPLETED, finished.error

    messages = stop_messages(service, migration.id)
    assert any(m.startswith("careful: stopped cleanly") for m in messages), messages
    assert not any("killed" in m for m in messages), messages
    (careful,) = [
        c
        for c in containers(world.docker_b, world.project, running_only=True)
        if c.labels["com.docker.compose.service"] == "careful"
    ]
    marker = subprocess.run(
        ["docker", "-H", world.docker_b, "exec", careful.name, "cat", "/data/clean-shutdown"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert marker.stdout == "clean\n"


def assert_nothing_touched(world: World, source_id: str) -> None:
    """The source container still runs (never stopped) and the target has nothing."""
    (running,) = containers(world.docker_a, world.project, running_only=True)
    assert running.id == source_id
    assert not containers(world.docker_b, world.project)
    assert datasets_of(world.target_pool.name) == [world.target_pool.name]
    assert not (world.target_base / world.project).exists()


def test_include_is_refused_at_validate_naming_the_compose_variant(
    make_world: Callable[..., World], service: ControllerService
) -> None:
    """docker-compose 1.29 cannot run `include:` (the source runs the stack from a file without
    it; the file is edited since): refused by name, on both sides, before anything moves."""
    world = make_world()
    (source,) = containers(world.docker_a, world.project, running_only=True)
    (world.stack_dir / "extra.yml").write_text(f"services:\n  extra:\n    image: {IMAGE}\n")
    world.compose_path.write_text("include:\n  - extra.yml\n" + world.compose_path.read_text())

    report = service.validate(spec_for(world))
    failed = {c.name: c.detail for c in report.checks if not c.ok}
    assert "docker-compose 1.29" in failed["source_compose_valid"]
    assert "cannot run include" in failed["source_compose_valid"]
    assert "include" in failed["target_compose_file"]
    migration = service.create(spec_for(world), start=True)
    finished = service.wait(migration.id, MIGRATION_TIMEOUT)
    assert finished.state == MigrationState.FAILED
    assert "source_compose_valid" in finished.error
    assert_nothing_touched(world, source.id)


def test_a_file_the_target_compose_refuses_fails_validate_and_nothing_moves(
    make_world: Callable[..., World], service: ControllerService
) -> None:
    """The target agent's `config -q` on the translated files is part of validation: here the
    file, edited since the stack started, has a key docker-compose does not know (the source's
    compose refuses it too, and says so)."""
    world = make_world()
    (source,) = containers(world.docker_a, world.project, running_only=True)
    world.compose_path.write_text(world.compose_path.read_text() + "    restart_when: never\n")

    migration = service.create(spec_for(world), start=True)
    finished = service.wait(migration.id, MIGRATION_TIMEOUT)
    assert finished.state == MigrationState.FAILED
    assert "target_compose_file" in finished.error and "restart_when" in finished.error
    assert [s.name for s in finished.steps] == ["validate"]
    assert_nothing_touched(world, source.id)


QUIET = """["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]"""
PROFILED = f"""\
    environment:
      GREETING: ${{GREETING}}
  debugger:
    image: {IMAGE}
    command: {QUIET}
    profiles: [debug]
  tools:
    image: {IMAGE}
    command: {QUIET}
    profiles: [tools]
"""


def running_services(docker_host: str, project: str) -> dict[str, str]:
    """{service: container name} of the project's running containers."""
    return {
        c.labels["com.docker.compose.service"]: c.name
        for c in containers(docker_host, project, running_only=True)
    }


def test_only_the_services_of_the_active_profiles_run_on_the_target(
    make_world: Callable[..., World], service: ControllerService
) -> None:
    """COMPOSE_PROFILES in the .env makes `debug` active on the source; `tools` is not. The
    target runs what the source ran, and a variable of the .env is set inside it."""
    world = make_world()
    dotenv = "# active profiles\nCOMPOSE_PROFILES=debug\nGREETING=hi\n"
    (world.stack_dir / ".env").write_text(dotenv)
    restack(world, compose_text(world.stack_dir / "data") + PROFILED)
    assert sorted(running_services(world.docker_a, world.project)) == ["debugger", "writer"]

    migration = service.create(spec_for(world), start=True)
    finished = service.wait(migration.id, MIGRATION_TIMEOUT)
    assert finished.state == MigrationState.COMPLETED, finished.error

    on_target = running_services(world.docker_b, world.project)
    assert sorted(on_target) == ["debugger", "writer"]
    assert not [c for c in containers(world.docker_b, world.project) if "tools" in c.name]
    env = subprocess.run(
        ["docker", "-H", world.docker_b, "exec", on_target["writer"], "sh", "-c", "echo $GREETING"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert env.stdout == "hi\n"


def test_a_stack_started_with_two_files_is_refused_when_given_one_naming_both(
    make_world: Callable[..., World], service: ControllerService
) -> None:
    """Started with `-f docker-compose.yml -f prod.yml` (the containers' labels say so): a
    migration of docker-compose.yml alone would drop prod.yml's changes unseen."""
    world = make_world()
    prod = world.stack_dir / "prod.yml"
    prod.write_text("services:\n  writer:\n    environment:\n      MODE: prod\n")
    up = ["docker-compose", "-p", world.project, "-f", str(world.compose_path), "-f", str(prod)]
    env = {**os.environ, "DOCKER_HOST": world.docker_a}
    done = subprocess.run([*up, "up", "-d"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    (source,) = containers(world.docker_a, world.project, running_only=True)

    report = service.validate(spec_for(world))
    detail = {c.name: c.detail for c in report.checks if not c.ok}["compose_files_match"]
    assert f"-f {world.compose_path}, {prod}" in detail
    assert f"given {world.compose_path}" in detail
    assert_nothing_touched(world, source.id)


@pytest.mark.parametrize(
    ("broken", "says"),
    [
        (
            "  other:\n    extends:\n      file: ../elsewhere/missing.yml\n      service: base\n",
            "missing.yml",
        ),
        (
            f"  other:\n    image: {IMAGE}\n    command: ${{MUST_BE_SET:?set it first}}\n",
            "MUST_BE_SET",
        ),
        (f"  writer:\n    image: {IMAGE}\n", "writer"),  # a second `writer:` key
    ],
    ids=["extends_missing_file", "required_variable_unset", "duplicate_key"],
)
def test_a_broken_compose_file_fails_validate_naming_file_and_line(
    make_world: Callable[..., World], service: ControllerService, broken: str, says: str
) -> None:
    world = make_world()
    (source,) = containers(world.docker_a, world.project, running_only=True)
    text = world.compose_path.read_text() + broken
    world.compose_path.write_text(text)
    # the offending line: the one naming what is wrong (the second `writer:` for the duplicate)
    line = max(n for n, row in enumerate(text.splitlines(), 1) if says in row)

    migration = service.create(spec_for(world), start=True)
    finished = service.wait(migration.id, MIGRATION_TIMEOUT)
    assert finished.state == MigrationState.FAILED
    assert "compose_parses" in finished.error and says in finished.error
    assert f"{world.compose_path}:" in finished.error, finished.error
    assert f":{line}" in finished.error or f"line {line}" in finished.error, finished.error
    assert_nothing_touched(world, source.id)
