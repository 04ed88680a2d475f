"""Stopping a stack like compose, on the real engine: each service gets its own
stop_grace_period (a PID 1 that ignores SIGTERM is killed when its grace ends, and said to be),
a service that needs time to shut down cleanly gets it, and services stop in the order given
(dependents first)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import docker
from conftest import unique
from stack_fixtures import compose_projects  # noqa: F401

from stackferry.agent.runtime.docker_runtime import DockerRuntime
from stackferry.agent.stack_stop import stop_project

COMPOSE = """\
services:
  stubborn:            # sleep as PID 1 has no SIGTERM handler: only SIGKILL ends it
    image: local/busybox:1
    command: ["sleep", "3600"]
    stop_grace_period: 2s
  careful:             # needs 3 s after SIGTERM to finish, then exits 0
    image: local/busybox:1
    command: ["sh", "-c", "trap 'sleep 3; exit 0' TERM; while true; do sleep 1; done"]
    stop_grace_period: 30s
    depends_on: [stubborn]
"""


def compose_up(docker_host: str, project: str, directory: Path) -> None:
    done = subprocess.run(
        ["docker-compose", "-p", project, "-f", str(directory / "docker-compose.yml"), "up", "-d"],
        capture_output=True,
        text=True,
        env={**os.environ, "DOCKER_HOST": docker_host},
    )
    assert done.returncode == 0, done.stderr


def finished_at(docker_host: str, project: str, service: str) -> str:
    client = docker.DockerClient(base_url=docker_host)
    try:
        labels = [f"com.docker.compose.project={project}", f"com.docker.compose.service={service}"]
        (container,) = client.containers.list(all=True, filters={"label": labels})
        return str(container.attrs["State"]["FinishedAt"])
    finally:
        client.close()


def test_each_service_gets_its_grace_period_in_stop_order(
    docker_hosts: tuple[str, str],
    tmp_path: Path,
    compose_projects: Callable[[str, str], str],  # noqa: F811
) -> None:
    host = docker_hosts[0]
    project = compose_projects(host, unique("sfstop"))
    (tmp_path / "docker-compose.yml").write_text(COMPOSE)
    compose_up(host, project, tmp_path)
    runtime = DockerRuntime(host, str(tmp_path / "spool"))

    seconds, stops = stop_project(runtime, project, ["careful", "stubborn"], None)

    by_service = {s.service: s for s in stops}
    assert [s.service for s in stops] == ["careful", "stubborn"]
    assert by_service["stubborn"].grace_seconds == 2
    assert by_service["stubborn"].killed == (f"{project}_stubborn_1",)
    assert "killed after 2 s" in by_service["stubborn"].describe()
    assert by_service["careful"].grace_seconds == 30
    assert by_service["careful"].killed == ()
    # bounded by the graces: 3 s of clean shutdown + 2 s before the kill (not 30 s)
    assert by_service["stubborn"].seconds < 4
    assert seconds < 30
    assert finished_at(host, project, "careful") < finished_at(host, project, "stubborn")


def test_one_timeout_for_all_overrides_the_grace_periods(
    docker_hosts: tuple[str, str],
    tmp_path: Path,
    compose_projects: Callable[[str, str], str],  # noqa: F811
) -> None:
    host = docker_hosts[0]
    project = compose_projects(host, unique("sfstop"))
    (tmp_path / "docker-compose.yml").write_text(COMPOSE)
    compose_up(host, project, tmp_path)
    runtime = DockerRuntime(host, str(tmp_path / "spool"))

    _, stops = stop_project(runtime, project, ["careful", "stubborn"], 1)

    assert {s.service: s.grace_seconds for s in stops} == {"careful": 1, "stubborn": 1}
    assert {s.service: bool(s.killed) for s in stops} == {"careful": True, "stubborn": True}
