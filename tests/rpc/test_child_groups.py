"""No child outlives the agent: a real agent is SIGKILLed while its `docker-compose up` runs
(slow: it waits for a dependency that never becomes healthy), and that compose process goes
with it, so it never starts the rest of the stack; the restarted agent then takes down what
the interrupted deploy had created (it was journaled, never committed). An orderly stop
(SIGTERM) ends the compose process itself instead of waiting for it."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import grpc
from conftest import AgentProcess, unique
from stack_fixtures import agent_stub, compose_projects, project_containers  # noqa: F401
from transfer_helpers import children_named, wait_until

from stackferry.api.agent.v1 import agent_pb2, agent_pb2_grpc

SLOW_UP = """\
services:
  db:
    image: local/busybox:1
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
    healthcheck:
      test: ["CMD", "sh", "-c", "exit 1"]
      interval: 1s
      retries: 100000
  app:
    image: local/busybox:1
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
    depends_on:
      db:
        condition: service_healthy
"""


def gone(pid: int) -> bool:
    """Exited and reaped, or a zombie nobody has reaped yet."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] == "Z"
    except (FileNotFoundError, ProcessLookupError):
        return True


def agent_args(docker_host: str, tmp_path: Path) -> tuple[str, ...]:
    (tmp_path / "stacks").mkdir(exist_ok=True)
    return (
        "--insecure",
        "--docker-host",
        docker_host,
        "--storage-backend",
        "directory",
        "--allowed-path-root",
        str(tmp_path / "stacks"),
        "--state-dir",
        str(tmp_path / "state"),
    )


def slow_deploy(
    agent: AgentProcess,
    stub: agent_pb2_grpc.AgentStub,
    docker_host: str,
    project: str,
    tmp_path: Path,
) -> tuple[grpc.Future, int]:
    """Starts the deploy; returns once compose has created the db container and waits for
    it to become healthy, with the call and compose's pid."""
    request = agent_pb2.DeployRequest(
        project_name=project,
        compose_dir=str(tmp_path / "stacks" / "app"),
        compose_text=SLOW_UP,
        wait_timeout_seconds=300,
        migration_id="m-killed",
    )
    pending = stub.DeployStack.future(request)
    wait_until(
        lambda: children_named(agent.pid, "docker-compose"), 60, "the agent's docker-compose up"
    )
    wait_until(lambda: project_containers(docker_host, project), 60, "the db container")
    (compose,) = children_named(agent.pid, "docker-compose")
    return pending, compose


def test_a_killed_agent_takes_its_compose_child_with_it(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], agent_pb2_grpc.AgentStub],  # noqa: F811
    compose_projects: Callable[[str, str], str],  # noqa: F811
    docker_hosts: tuple[str, str],
    tmp_path: Path,
) -> None:
    project = compose_projects(docker_hosts[1], unique("sfchild"))
    args = agent_args(docker_hosts[1], tmp_path)
    agent = start_agent(*args)
    stub = agent_stub(agent.address)
    pending, compose = slow_deploy(agent, stub, docker_hosts[1], project, tmp_path)

    agent.stop(signal.SIGKILL)
    wait_until(lambda: gone(compose), 30, f"docker-compose (pid {compose}) to die with the agent")
    pending.exception()  # the call failed with the agent; nothing waits on it any more
    (db,) = project_containers(docker_hosts[1], project)
    assert "_db_" in db or db.endswith("-db-1"), "app was never created: compose died first"

    start_agent(*args)
    assert project_containers(docker_hosts[1], project) == [], "the journaled deploy is down"


def test_an_orderly_stop_ends_the_compose_child_instead_of_waiting_for_it(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], agent_pb2_grpc.AgentStub],  # noqa: F811
    compose_projects: Callable[[str, str], str],  # noqa: F811
    docker_hosts: tuple[str, str],
    tmp_path: Path,
) -> None:
    project = compose_projects(docker_hosts[1], unique("sfterm"))
    agent = start_agent(*agent_args(docker_hosts[1], tmp_path))
    stub = agent_stub(agent.address)
    pending, compose = slow_deploy(agent, stub, docker_hosts[1], project, tmp_path)

    assert agent.stop(signal.SIGTERM, timeout=60) == 0, agent.log()
    assert gone(compose)
    assert "ended child processes" in agent.log()
    pending.exception()
