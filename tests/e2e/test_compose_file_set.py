"""A compose project of several files, end to end on the real engines (docker-compose 1.29 on
both hosts) through the installed CLI and its embedded controller: every file is carried and
translated, the target runs the same -f list, env files and profiles, and only the services
that ran on the source start there. Checked inside the target's containers."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from migration_world import (
    IMAGE,
    World,
    compose_text,
    containers,
    make_world_fixture,  # noqa: F401 (the make_world fixture)
    parsed,
    stackferry,
)

pytestmark = [pytest.mark.zfs, pytest.mark.docker]

QUIET = """["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]"""


def profiled(world: World) -> str:
    """The base file: the world's writer with an env_file, a service extended from a file in
    another directory, and one service in each of two profiles."""
    return compose_text(world.stack_dir / "data") + (
        "    env_file: app.env  # the writer's own variables\n"
        "  app:\n"
        "    extends:\n"
        f"      file: {common_dir(world)}/base.yml  # shared by several stacks\n"
        "      service: base\n"
        "  debugger:\n"
        f"    image: {IMAGE}\n"
        f"    command: {QUIET}\n"
        "    profiles: [debug]\n"
        "  tools:\n"
        f"    image: {IMAGE}\n"
        f"    command: {QUIET}\n"
        "    profiles: [tools]\n"
    )


OVERRIDE = """\
# the override: one more variable and one more bind mount
services:
  writer:
    environment:
      MODE: override
    volumes:
      - ${CONF_DIR}:/conf:ro  # from .env
"""
COMMON = f"""\
# the shared base service
services:
  base:
    image: {IMAGE}
    command: {QUIET}
    environment:
      ORIGIN: common
"""


def common_dir(world: World) -> Path:
    """A directory outside the migrated dataset (and the target's copy of it, --map)."""
    return world.target_base.parent / f"common-{world.project}"


def compose_up(world: World, *args: str, env: dict[str, str] | None = None) -> None:
    command = ["docker-compose", "-p", world.project, *args, "up", "-d"]
    full_env = {**os.environ, "DOCKER_HOST": world.docker_a, **(env or {})}
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=120, env=full_env, cwd=world.stack_dir
    )
    assert done.returncode == 0, done.stderr


def write_project(world: World) -> None:
    """The files of the project; the stack is then started from them with profile debug."""
    common = common_dir(world)
    common.mkdir()
    (common / "base.yml").write_text(COMMON)
    (world.stack_dir / "conf").mkdir()
    (world.stack_dir / "conf" / "settings").write_text("level=3\n")
    (world.stack_dir / "app.env").write_text("# read by the writer\nGREETING=hello\n")
    (world.stack_dir / ".env").write_text(
        f"# paths of this host\nCONF_DIR={world.stack_dir}/conf\n"
    )
    world.compose_path.write_text(profiled(world))
    (world.stack_dir / "docker-compose.override.yml").write_text(OVERRIDE)


def target_map(world: World) -> list[str]:
    return ["--map", f"{common_dir(world)}={world.target_base.parent}/hostb-common-{world.project}"]


def flags(world: World, *extra: str) -> list[str]:
    """The migration's flags without --compose (the world's default names one file)."""
    return [
        "--from",
        world.source.address,
        "--to",
        world.target.address,
        "--target-dataset",
        world.target_dataset,
        "--target-base",
        str(world.target_base),
        "--project",
        world.project,
        "--insecure",
        *target_map(world),
        *extra,
    ]


def in_container(world: World, service: str, script: str) -> str:
    (container,) = [
        c
        for c in containers(world.docker_b, world.project, running_only=True)
        if c.labels["com.docker.compose.service"] == service
    ]
    done = subprocess.run(
        ["docker", "-H", world.docker_b, "exec", container.name, "sh", "-c", script],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def running_services(docker_host: str, project: str) -> list[str]:
    return sorted(
        c.labels["com.docker.compose.service"]
        for c in containers(docker_host, project, running_only=True)
    )


def test_plan_lists_every_file_then_the_whole_project_runs_on_the_target(
    make_world: Callable[..., World],
) -> None:
    world = make_world()
    write_project(world)
    compose_up(world, env={"COMPOSE_PROFILES": "debug"})
    assert running_services(world.docker_a, world.project) == ["app", "debugger", "writer"]
    override = world.stack_dir / "docker-compose.override.yml"
    files = ["--compose", str(world.compose_path), "--compose", str(override)]

    plan_run = stackferry("plan", *flags(world, *files), "--json", state_dir=world.state_dir)
    assert plan_run.returncode == 0, plan_run.stderr
    plan = parsed(plan_run)
    carried = {f["source_path"]: f for f in plan["carried_files"]}
    target_dir = plan["target_compose_dir"]
    shared = f"{world.target_base.parent}/hostb-common-{world.project}/base.yml"
    assert {
        path: (f["kind"], f["target_path"], f["inside_data"]) for path, f in carried.items()
    } == {
        str(world.compose_path): ("compose", f"{target_dir}/docker-compose.yml", True),
        str(override): ("compose", f"{target_dir}/docker-compose.override.yml", True),
        f"{world.stack_dir}/.env": ("env", f"{target_dir}/.env", True),
        f"{common_dir(world)}/base.yml": ("extends", shared, False),
        f"{world.stack_dir}/app.env": ("env_file", f"{target_dir}/app.env", True),
    }
    assert (
        f"+      file: {shared}  # shared by several stacks"
        in (carried[str(world.compose_path)]["diff"])
    )
    assert f"+CONF_DIR={target_dir}/conf" in carried[f"{world.stack_dir}/.env"]["diff"]
    assert plan["profiles"] == ["debug"]
    assert sorted(plan["services"]) == ["app", "debugger", "writer"]

    text = stackferry("plan", *flags(world, *files), state_dir=world.state_dir)
    assert text.returncode == 0, text.stderr
    assert (
        f"extends {common_dir(world)}/base.yml -> {shared}: carried as a file "
        "(outside the migrated data)"
    ) in text.stdout
    assert (
        f"env_file {world.stack_dir}/app.env -> {target_dir}/app.env: inside the migrated data"
        in (text.stdout)
    )
    assert f"+CONF_DIR={target_dir}/conf" in text.stdout

    run = stackferry("migrate", *flags(world, *files), state_dir=world.state_dir)
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"

    # every service that ran, and only those; each variable and mount as on the source
    assert running_services(world.docker_b, world.project) == ["app", "debugger", "writer"]
    assert not [c for c in containers(world.docker_b, world.project) if "tools" in c.name]
    assert in_container(world, "writer", "echo $MODE $GREETING") == "override hello\n"
    assert in_container(world, "writer", "cat /conf/settings") == "level=3\n"
    assert in_container(world, "app", "echo $ORIGIN") == "common\n"
    mounts = {
        m["Destination"]: m["Source"]
        for c in containers(world.docker_b, world.project, running_only=True)
        if c.labels["com.docker.compose.service"] == "writer"
        for m in c.attrs["Mounts"]
    }
    assert mounts == {"/data": f"{target_dir}/data", "/conf": f"{target_dir}/conf"}
    # each carried file keeps its comments where the target runs it from
    assert Path(shared).read_text() == COMMON
    assert Path(target_dir, "docker-compose.override.yml").read_text() == OVERRIDE
    assert Path(target_dir, "app.env").read_text().startswith("# read by the writer\n")
    assert (
        Path(target_dir, ".env").read_text()
        == f"# paths of this host\nCONF_DIR={target_dir}/conf\n"
    )
    assert (
        Path(target_dir, "docker-compose.yml")
        .read_text()
        .startswith("# the writer keeps appending while the bulk copy runs\n")
    )


PROD = """\
# production settings
services:
  writer:
    environment:
      MODE: prod
"""


def test_a_project_started_with_two_files_migrates_from_its_labels_alone(
    make_world: Callable[..., World],
) -> None:
    """`docker-compose -f base.yml -f prod.yml up -d`, migrated with no --compose at all."""
    world = make_world()
    base = world.stack_dir / "base.yml"
    base.write_text(compose_text(world.stack_dir / "data"))
    (world.stack_dir / "prod.yml").write_text(PROD)
    compose_up(world, "-f", "base.yml", "-f", "prod.yml")

    run = stackferry("migrate", *flags(world), state_dir=world.state_dir)
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"

    assert running_services(world.docker_b, world.project) == ["writer"]
    assert in_container(world, "writer", "echo $MODE") == "prod\n"
    (writer,) = containers(world.docker_b, world.project, running_only=True)
    started_with = writer.labels["com.docker.compose.project.config_files"]
    assert started_with.endswith("prod.yml") and "base.yml" in started_with
    assert not containers(world.docker_a, world.project, running_only=True)


def test_a_service_stopped_on_the_source_stays_stopped_on_the_target(
    make_world: Callable[..., World],
) -> None:
    """A service the operator stopped before the migration is part of the project but did not
    run: it is not started on the target, and its missing container is not a failed deploy."""
    world = make_world()
    world.compose_path.write_text(
        compose_text(world.stack_dir / "data")
        + f"  idle:\n    image: {IMAGE}\n    command: {QUIET}\n"
    )
    compose_up(world)
    done = subprocess.run(
        ["docker-compose", "-p", world.project, "stop", "idle"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DOCKER_HOST": world.docker_a},
        cwd=world.stack_dir,
    )
    assert done.returncode == 0, done.stderr
    assert running_services(world.docker_a, world.project) == ["writer"]

    run = stackferry(
        "migrate", *flags(world, "--compose", str(world.compose_path)), state_dir=world.state_dir
    )
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"

    assert running_services(world.docker_b, world.project) == ["writer"]
    assert not [
        c
        for c in containers(world.docker_b, world.project)
        if c.labels["com.docker.compose.service"] == "idle"
    ]
    assert not containers(world.docker_a, world.project, running_only=True)
