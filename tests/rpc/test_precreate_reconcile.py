"""A pre-created stack (DeployRequest.create_only, issue 12) is a journaled deploy like any:
a target agent killed before its migration committed takes it down when it starts again
(journal reconcile), so neither its containers nor its network are left on the engine. A
real agent process on Docker engine B; the create itself is held by test_deploy_create_only.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import docker
from conftest import AgentProcess, unique
from stack_fixtures import agent_stub, compose_projects, project_containers  # noqa: F401

from stackferry.agent.runtime.base import PROJECT_LABEL
from stackferry.api.agent.v1 import agent_pb2, agent_pb2_grpc

SLEEPER = """\
services:
  app:
    image: local/busybox:1
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
    restart: always
"""


def project_networks(docker_host: str, project: str) -> list[str]:
    client = docker.DockerClient(base_url=docker_host)
    try:
        found = client.networks.list(filters={"label": f"{PROJECT_LABEL}={project}"})
        return sorted(n.name for n in found)
    finally:
        client.close()


def test_an_agent_restarted_before_the_commit_takes_the_pre_created_stack_down(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], agent_pb2_grpc.AgentStub],  # noqa: F811
    compose_projects: Callable[[str, str], str],  # noqa: F811
    docker_hosts: tuple[str, str],
    tmp_path: Path,
) -> None:
    engine = docker_hosts[1]
    (tmp_path / "stacks").mkdir()
    args = (
        *("--insecure", "--docker-host", engine, "--storage-backend", "directory"),
        *("--allowed-path-root", str(tmp_path / "stacks"), "--state-dir", str(tmp_path / "state")),
    )
    project = compose_projects(engine, unique("sfprecreate"))
    first = start_agent(*args)
    created = agent_stub(first.address).DeployStack(
        agent_pb2.DeployRequest(
            project_name=project,
            compose_dir=str(tmp_path / "stacks" / "app"),
            compose_text=SLEEPER,
            wait_timeout_seconds=60,
            migration_id="m-precreate-restart",
            create_only=True,
        )
    )
    assert created.ok, created.error
    assert len(project_containers(engine, project)) == 1
    assert project_networks(engine, project)

    first.stop(signal.SIGKILL)  # no chance to clean anything up on its way out
    assert len(project_containers(engine, project)) == 1, "the kill alone removed it"
    second = start_agent(*args)  # reconciles its journal before it serves

    assert agent_stub(second.address).GetInfo(agent_pb2.GetInfoRequest()).version
    assert project_containers(engine, project) == []
    assert project_networks(engine, project) == []
