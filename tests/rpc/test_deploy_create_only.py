"""DeployRequest.create_only (issue 12's pre-create) on a real agent process and Docker engine
B: the containers are created and none runs; Discard of the migration removes them with the
compose dir; a normal deploy of the same request afterwards runs them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import docker
from conftest import AgentProcess, unique
from stack_fixtures import agent_stub, compose_projects, host_b_agent_args, project_containers  # noqa: F401

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
    host_b_agent_args: tuple[str, ...],  # noqa: F811
    tmp_path: Path,
) -> None:
    project = compose_projects(docker_hosts[1], unique("sfcreate"))
    stub = agent_stub(start_agent(*host_b_agent_args).address)
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
    host_b_agent_args: tuple[str, ...],  # noqa: F811
    tmp_path: Path,
) -> None:
    project = compose_projects(docker_hosts[1], unique("sfcreatediscard"))
    stub = agent_stub(start_agent(*host_b_agent_args).address)
    compose_dir = tmp_path / "stacks" / "app"
    created = stub.DeployStack(request(project, compose_dir, create_only=True))
    assert created.ok, created.error
    assert len(project_containers(docker_hosts[1], project)) == 2

    result = stub.Discard(agent_pb2.DiscardRequest(migration_id="m-precreate"))
    assert f"deploy {project}" in result.removed, result
    assert project_containers(docker_hosts[1], project) == []
    assert not compose_dir.exists(), "the compose dir the migration created is removed"


CRASHES = """\
services:
  app:
    image: local/busybox:1
    command: ["sh", "-c", "exit 3"]
"""


def test_a_deploy_that_fails_after_its_pre_create_takes_the_created_containers_down(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], Stub],  # noqa: F811
    compose_projects: Callable[[str, str], str],  # noqa: F811
    docker_hosts: tuple[str, str],
    host_b_agent_args: tuple[str, ...],  # noqa: F811
    tmp_path: Path,
) -> None:
    """The containers there at the deploy are this migration's own pre-create's: a failed
    deploy removes them as it would have removed the ones its own `up` created."""
    project = compose_projects(docker_hosts[1], unique("sfcreatefail"))
    stub = agent_stub(start_agent(*host_b_agent_args).address)
    compose_dir = tmp_path / "stacks" / "app"
    crashing = request(project, compose_dir, create_only=True)
    crashing.compose_text = CRASHES
    created = stub.DeployStack(crashing)
    assert created.ok, created.error
    assert len(project_containers(docker_hosts[1], project)) == 1

    crashing.create_only = False
    failed = stub.DeployStack(crashing)
    assert not failed.ok and "exit" in failed.error.lower(), failed
    assert project_containers(docker_hosts[1], project) == []


NEEDS_ITS_ENV_FILE = """\
services:
  app:
    image: local/busybox:${TAG:?set in vars.env}
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
    env_file: [ENV_FILE]
"""
OVERRIDE = """\
services:
  side:
    image: local/busybox:1
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
"""


def test_discard_takes_the_deploy_down_with_its_whole_file_set_once_the_files_are_gone(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], Stub],  # noqa: F811
    compose_projects: Callable[[str, str], str],  # noqa: F811
    docker_hosts: tuple[str, str],
    host_b_agent_args: tuple[str, ...],  # noqa: F811
    tmp_path: Path,
) -> None:
    """With the compose dir removed behind the agent's back, the journal's texts of every
    file (the override's service, the env file's TAG, the env_file named by its absolute
    path, as the controller's translation names it) still take the whole stack down."""
    project = compose_projects(docker_hosts[1], unique("sfdownset"))
    stub = agent_stub(start_agent(*host_b_agent_args).address)
    compose_dir = tmp_path / "stacks" / "app"
    names = ("base.yml", "override.yml", "vars.env", "app.env")
    main, override, env, app_env = (compose_dir / n for n in names)
    deployed = stub.DeployStack(
        agent_pb2.DeployRequest(
            project_name=project,
            compose_dir=str(compose_dir),
            compose_filename="base.yml",
            compose_text=NEEDS_ITS_ENV_FILE.replace("ENV_FILE", str(app_env)),
            compose_files=[str(main), str(override)],
            env_files=[str(env)],
            files=[
                agent_pb2.ProjectFile(
                    path=str(override), kind="compose", content=OVERRIDE.encode(), exists=True
                ),
                agent_pb2.ProjectFile(path=str(env), kind="env", content=b"TAG=1\n", exists=True),
                agent_pb2.ProjectFile(
                    path=str(app_env), kind="env_file", content=b"A=1\n", exists=True
                ),
            ],
            wait_timeout_seconds=60,
            migration_id="m-downset",
        )
    )
    assert deployed.ok, deployed.error
    assert len(project_containers(docker_hosts[1], project)) == 2
    for path in (main, override, env, app_env):
        path.unlink()

    result = stub.Discard(agent_pb2.DiscardRequest(migration_id="m-downset"))
    assert f"deploy {project}" in result.removed, result
    assert project_containers(docker_hosts[1], project) == []


WITH_A_VOLUME = """\
services:
  app:
    image: local/busybox:1
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
    volumes: ["cache:/cache"]
volumes:
  cache: {}
"""


def test_discard_removes_the_volume_compose_made_at_the_pre_create(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], Stub],  # noqa: F811
    compose_projects: Callable[[str, str], str],  # noqa: F811
    docker_hosts: tuple[str, str],
    host_b_agent_args: tuple[str, ...],  # noqa: F811
    tmp_path: Path,
) -> None:
    """A named volume the migration does not move: compose creates it empty at the
    pre-create, and `compose down` keeps volumes; Discard removes it. A volume that was on
    the engine before stays."""
    project = compose_projects(docker_hosts[1], unique("sfcreatevol"))
    client = docker.DockerClient(base_url=docker_hosts[1])
    client.volumes.create(f"{project}_theirs")  # on the engine before the migration
    try:
        stub = agent_stub(start_agent(*host_b_agent_args).address)
        deploy = request(project, tmp_path / "stacks" / "app", create_only=True)
        deploy.compose_text = WITH_A_VOLUME.replace("cache: {}", "cache: {}\n  theirs: {}")
        created = stub.DeployStack(deploy)
        assert created.ok, created.error
        assert client.volumes.get(f"{project}_cache")

        result = stub.Discard(agent_pb2.DiscardRequest(migration_id="m-precreate"))
        assert f"volume {project}_cache" in result.removed, result
        names = {v.name for v in client.volumes.list(filters={"name": project})}
        assert names == {f"{project}_theirs"}, names
    finally:
        for volume in client.volumes.list(filters={"name": project}):
            volume.remove(force=True)
        client.close()
