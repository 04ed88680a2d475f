"""The deploy after a pre-create (issue 12) on a real agent process and Docker engine B: with
the pre-create's very request it starts the created containers through the engine, in
compose's start order (depends_on), no `compose up`; with any file changed it runs
`compose up -d` as before, which recreates what changed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import docker
from conftest import AgentProcess, unique
from stack_fixtures import agent_stub, compose_projects, host_b_agent_args  # noqa: F401

from stackferry.agent.runtime.base import PROJECT_LABEL
from stackferry.api.agent.v1 import agent_pb2, agent_pb2_grpc

Stub = agent_pb2_grpc.AgentStub
SLEEP = '["sh", "-c", "trap \'exit 0\' TERM; while true; do sleep 1; done"]'
# `web` is declared first and depends on `db`: compose starts db first.
WEB_AFTER_DB = f"""\
services:
  web:
    image: local/busybox:1
    command: {SLEEP}
    depends_on: [db]
  db:
    image: local/busybox:1
    command: {SLEEP}
"""


def request(
    project: str, compose_dir: Path, text: str, create_only: bool
) -> agent_pb2.DeployRequest:
    return agent_pb2.DeployRequest(
        project_name=project,
        compose_dir=str(compose_dir),
        compose_text=text,
        wait_timeout_seconds=60,
        migration_id="m-startcreated",
        create_only=create_only,
    )


def engine_view(docker_host: str, project: str) -> dict[str, tuple[str, str, str]]:
    """service -> (container id, state, started at) for every container of the project."""
    client = docker.DockerClient(base_url=docker_host)
    try:
        found = client.containers.list(all=True, filters={"label": f"{PROJECT_LABEL}={project}"})
        return {
            c.labels["com.docker.compose.service"]: (
                c.id,
                c.status,
                c.attrs["State"]["StartedAt"],
            )
            for c in found
        }
    finally:
        client.close()


def started_at(stamp: str) -> datetime:
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{whole}.{(fraction + '000000')[:6]}+00:00")


def test_the_same_request_starts_the_pre_created_containers_in_start_order(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], Stub],  # noqa: F811
    compose_projects: Callable[[str, str], str],  # noqa: F811
    docker_hosts: tuple[str, str],
    host_b_agent_args: tuple[str, ...],  # noqa: F811
    tmp_path: Path,
) -> None:
    project = compose_projects(docker_hosts[1], unique("sfstartmade"))
    stub = agent_stub(start_agent(*host_b_agent_args).address)
    compose_dir = tmp_path / "stacks" / "app"
    created = stub.DeployStack(request(project, compose_dir, WEB_AFTER_DB, create_only=True))
    assert created.ok, created.error
    made = engine_view(docker_hosts[1], project)
    assert {s: state for s, (_, state, _) in made.items()} == {"web": "created", "db": "created"}

    deployed = stub.DeployStack(request(project, compose_dir, WEB_AFTER_DB, create_only=False))
    assert deployed.ok, deployed.error
    assert deployed.started_created, "compose up ran instead of the engine's start"
    running = engine_view(docker_hosts[1], project)
    assert {s: (i, "running") for s, (i, _, _) in made.items()} == {
        s: (i, state) for s, (i, state, _) in running.items()
    }
    assert started_at(running["db"][2]) < started_at(running["web"][2]), running


def test_a_changed_file_falls_back_to_compose_up(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], Stub],  # noqa: F811
    compose_projects: Callable[[str, str], str],  # noqa: F811
    docker_hosts: tuple[str, str],
    host_b_agent_args: tuple[str, ...],  # noqa: F811
    tmp_path: Path,
) -> None:
    """The .env the deploy writes changed since the pre-create: web's environment with it."""
    project = compose_projects(docker_hosts[1], unique("sfstartchanged"))
    stub = agent_stub(start_agent(*host_b_agent_args).address)
    compose_dir = tmp_path / "stacks" / "app"
    text = WEB_AFTER_DB.replace(
        "    depends_on: [db]\n", "    depends_on: [db]\n    environment: {A: '${A}'}\n"
    )
    first = request(project, compose_dir, text, create_only=True)
    first.env_text, first.write_env = "A=1\n", True
    created = stub.DeployStack(first)
    assert created.ok, created.error
    made = engine_view(docker_hosts[1], project)

    second = request(project, compose_dir, text, create_only=False)
    second.env_text, second.write_env = "A=2\n", True
    deployed = stub.DeployStack(second)
    assert deployed.ok, deployed.error
    assert not deployed.started_created
    running = engine_view(docker_hosts[1], project)
    assert {state for _, state, _ in running.values()} == {"running"}, running
    # compose up recreated the service whose configuration changed, kept the other.
    assert running["web"][0] != made["web"][0]
    assert running["db"][0] == made["db"][0]


WEB_AFTER_HEALTHY_DB = f"""\
services:
  web:
    image: local/busybox:1
    command: {SLEEP}
    depends_on:
      db:
        condition: service_healthy
  db:
    image: local/busybox:1
    command: {SLEEP}
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
"""


def test_a_start_that_waits_on_a_health_condition_is_left_to_compose_up(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], Stub],  # noqa: F811
    compose_projects: Callable[[str, str], str],  # noqa: F811
    docker_hosts: tuple[str, str],
    host_b_agent_args: tuple[str, ...],  # noqa: F811
    tmp_path: Path,
) -> None:
    """compose waits for db to be healthy before it starts web: a start in order does not."""
    project = compose_projects(docker_hosts[1], unique("sfstarthealthy"))
    stub = agent_stub(start_agent(*host_b_agent_args).address)
    compose_dir = tmp_path / "stacks" / "app"
    text = WEB_AFTER_HEALTHY_DB
    created = stub.DeployStack(request(project, compose_dir, text, create_only=True))
    assert created.ok, created.error
    made = engine_view(docker_hosts[1], project)

    deployed = stub.DeployStack(request(project, compose_dir, text, create_only=False))
    assert deployed.ok, deployed.error
    assert not deployed.started_created
    running = engine_view(docker_hosts[1], project)
    assert {s: (i, "running") for s, (i, _, _) in made.items()} == {
        s: (i, state) for s, (i, state, _) in running.items()
    }
