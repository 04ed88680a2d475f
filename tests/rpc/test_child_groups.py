"""No child outlives the agent: a real agent is SIGKILLed while its `docker-compose up` runs
(slow: it waits for a dependency that never becomes healthy), and that compose process goes
with it, so it never starts the rest of the stack; the restarted agent then takes down what
the interrupted deploy had created (it was journaled, never committed)."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

from conftest import AgentProcess
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


def test_a_killed_agent_takes_its_compose_child_with_it(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], agent_pb2_grpc.AgentStub],  # noqa: F811
    compose_projects: Callable[[str, str], str],  # noqa: F811
    docker_hosts: tuple[str, str],
    tmp_path: Path,
) -> None:
    project = compose_projects(docker_hosts[1], f"sfchild{tmp_path.name[-6:]}")
    (tmp_path / "stacks").mkdir()
    args = (
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
    agent = start_agent(*args)
    request = agent_pb2.DeployRequest(
        project_name=project,
        compose_dir=str(tmp_path / "stacks" / "app"),
        compose_text=SLOW_UP,
        wait_timeout_seconds=300,
        migration_id="m-killed",
    )
    pending = agent_stub(agent.address).DeployStack.future(request)
    wait_until(
        lambda: children_named(agent.pid, "docker-compose"), 60, "the agent's docker-compose up"
    )
    wait_until(lambda: project_containers(docker_hosts[1], project), 60, "the db container")
    (compose,) = children_named(agent.pid, "docker-compose")

    agent.stop(signal.SIGKILL)
    wait_until(lambda: gone(compose), 30, f"docker-compose (pid {compose}) to die with the agent")
    pending.exception()  # the call failed with the agent; nothing waits on it any more
    (db,) = project_containers(docker_hosts[1], project)
    assert "_db_" in db or db.endswith("-db-1"), "app was never created: compose died first"

    start_agent(*args)
    assert project_containers(docker_hosts[1], project) == [], "the journaled deploy is down"
