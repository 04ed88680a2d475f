"""DeployRequest.create_only (issue 12's pre-create) on a real agent process and Docker engine
B: the containers are created and none runs; Discard of the migration removes them with the
compose dir; a normal deploy of the same request afterwards runs them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import docker
import pytest
from conftest import AgentProcess, unique
from stack_fixtures import agent_stub, compose_projects, project_containers  # noqa: F401

from stackferry.agent.runtime.base import PROJECT_LABEL
from stackferry.api.agent.v1 import agent_pb2, agent_pb2_grpc

Stub = agent_pb2_grpc.AgentStub
TWO_SLEEPERS = """\
services:
  app:
    image: local/busybox:1
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
  worker:
    image: local/busybox:1
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
"""


@pytest.fixture
def agent_args(tmp_path: Path, docker_hosts: tuple[str, str]) -> tuple[str, ...]:
    (tmp_path / "stacks").mkdir()
    return (
        "--insecure",
        "--docker-host",
        docker_hosts[1],
        "--storage-backend",
        "directory",
        "--allowed-path-root",
        str(tmp_path / "stacks"),
        "--state-dir",
        str(tmp_path / "state"),
    )


def states(docker_host: str, project: str) -> dict[str, str]:
    """container name -> engine state, for every container of the project."""
    client = docker.DockerClient(base_url=docker_host)
    try:
        found = client.containers.list(all=True, filters={"label": f"{PROJECT_LABEL}={project}"})
        return {c.name: c.status for c in found}
    finally:
        client.close()


def request(project: str, compose_dir: Path, create_only: bool) -> agent_pb2.DeployRequest:
    return agent_pb2.DeployRequest(
        project_name=project,
        compose_dir=str(compose_dir),
        compose_text=TWO_SLEEPERS,
        wait_timeout_seconds=60,
        migration_id="m-precreate",
        create_only=create_only,
    )


def test_create_only_creates_every_container_and_starts_none(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], Stub],  # noqa: F811
    compose_projects: Callable[[str, str], str],  # noqa: F811
    docker_hosts: tuple[str, str],
    agent_args: tuple[str, ...],
    tmp_path: Path,
) -> None:
    project = compose_projects(docker_hosts[1], unique("sfcreate"))
    stub = agent_stub(start_agent(*agent_args).address)
    compose_dir = tmp_path / "stacks" / "app"

    created = stub.DeployStack(request(project, compose_dir, create_only=True))
    assert created.ok, created.error
    found = states(docker_hosts[1], project)
    assert len(found) == 2 and set(found.values()) == {"created"}, found
    assert (compose_dir / "docker-compose.yml").read_text() == TWO_SLEEPERS

    started = stub.DeployStack(request(project, compose_dir, create_only=False))
    assert started.ok, started.error
    after = states(docker_hosts[1], project)
    assert set(after) == set(found), "the created containers are the ones started"
    assert set(after.values()) == {"running"}, after


def test_discard_removes_what_create_only_created(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], Stub],  # noqa: F811
    compose_projects: Callable[[str, str], str],  # noqa: F811
    docker_hosts: tuple[str, str],
    agent_args: tuple[str, ...],
    tmp_path: Path,
) -> None:
    project = compose_projects(docker_hosts[1], unique("sfcreatediscard"))
    stub = agent_stub(start_agent(*agent_args).address)
    compose_dir = tmp_path / "stacks" / "app"
    created = stub.DeployStack(request(project, compose_dir, create_only=True))
    assert created.ok, created.error
    assert len(project_containers(docker_hosts[1], project)) == 2

    result = stub.Discard(agent_pb2.DiscardRequest(migration_id="m-precreate"))
    assert f"deploy {project}" in result.removed, result
    assert project_containers(docker_hosts[1], project) == []
    assert not compose_dir.exists(), "the compose dir the migration created is removed"
