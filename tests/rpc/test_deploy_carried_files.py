"""A carried file of a deploy (DeployRequest.files) on a real agent process and Docker engine
B: it never replaces a file of the host that holds other bytes (Discard could not give it
back): CheckDeploy names it, DeployStack refuses with ALREADY_EXISTS and writes nothing. The
same bytes, or a file an earlier deploy of the same migration wrote, are fine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from conftest import AgentProcess, unique
from stack_fixtures import agent_stub, compose_projects, host_b_agent_args, project_containers  # noqa: F401

from stackferry.api.agent.v1 import agent_pb2, agent_pb2_grpc

Stub = agent_pb2_grpc.AgentStub
READS_ITS_ENV_FILE = """\
services:
  app:
    image: local/busybox:1
    env_file: [extra.env]
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
"""


def request(
    project: str, compose_dir: Path, content: bytes, migration_id: str, create_only: bool = False
) -> agent_pb2.DeployRequest:
    carried = agent_pb2.ProjectFile(
        path=str(compose_dir / "extra.env"), kind="env_file", content=content, exists=True
    )
    return agent_pb2.DeployRequest(
        project_name=project,
        compose_dir=str(compose_dir),
        compose_text=READS_ITS_ENV_FILE,
        files=[carried],
        wait_timeout_seconds=60,
        migration_id=migration_id,
        create_only=create_only,
    )


def project_files_check(stub: Stub, deploy: agent_pb2.DeployRequest) -> agent_pb2.DeployCheck:
    checks = stub.CheckDeploy(deploy).checks
    return next(c for c in checks if c.name == "project_files")


def test_a_carried_file_over_a_different_file_of_the_host_is_refused_by_name(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], Stub],  # noqa: F811
    compose_projects: Callable[[str, str], str],  # noqa: F811
    docker_hosts: tuple[str, str],
    host_b_agent_args: tuple[str, ...],  # noqa: F811
    tmp_path: Path,
) -> None:
    project = compose_projects(docker_hosts[1], unique("sfclobber"))
    stub = agent_stub(start_agent(*host_b_agent_args).address)
    compose_dir = tmp_path / "stacks" / "app"
    compose_dir.mkdir()
    theirs = compose_dir / "extra.env"
    theirs.write_bytes(b"KEY=the host's own\n")
    deploy = request(project, compose_dir, b"KEY=carried\n", "m-clobber")

    check = project_files_check(stub, deploy)
    assert not check.ok and str(theirs) in check.detail and "other content" in check.detail
    with pytest.raises(grpc.RpcError) as refused:
        stub.DeployStack(deploy)
    assert refused.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert str(theirs) in (refused.value.details() or "")
    assert theirs.read_bytes() == b"KEY=the host's own\n"
    assert sorted(p.name for p in compose_dir.iterdir()) == ["extra.env"], "nothing written"
    assert project_containers(docker_hosts[1], project) == []

    same = request(project, compose_dir, b"KEY=the host's own\n", "m-clobber")
    assert project_files_check(stub, same).ok, "the same bytes are fine"


def test_a_deploy_rewrites_the_carried_file_its_own_pre_create_wrote(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], Stub],  # noqa: F811
    compose_projects: Callable[[str, str], str],  # noqa: F811
    docker_hosts: tuple[str, str],
    host_b_agent_args: tuple[str, ...],  # noqa: F811
    tmp_path: Path,
) -> None:
    project = compose_projects(docker_hosts[1], unique("sfrewrite"))
    stub = agent_stub(start_agent(*host_b_agent_args).address)
    compose_dir = tmp_path / "stacks" / "app"
    created = stub.DeployStack(request(project, compose_dir, b"KEY=1\n", "m-own", True))
    assert created.ok, created.error

    again = request(project, compose_dir, b"KEY=2\n", "m-own")
    assert project_files_check(stub, again).ok
    deployed = stub.DeployStack(again)
    assert deployed.ok, deployed.error
    assert (compose_dir / "extra.env").read_bytes() == b"KEY=2\n"

    other = request(project, compose_dir, b"KEY=3\n", "m-other")
    check = project_files_check(stub, other)
    assert not check.ok and "extra.env" in check.detail, "another migration's file is not its own"


def test_the_env_file_a_deploy_writes_does_not_replace_the_hosts_own_either(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], Stub],  # noqa: F811
    compose_projects: Callable[[str, str], str],  # noqa: F811
    docker_hosts: tuple[str, str],
    host_b_agent_args: tuple[str, ...],  # noqa: F811
    tmp_path: Path,
) -> None:
    project = compose_projects(docker_hosts[1], unique("sfenvclobber"))
    stub = agent_stub(start_agent(*host_b_agent_args).address)
    compose_dir = tmp_path / "stacks" / "app"
    compose_dir.mkdir()
    theirs = compose_dir / ".env"
    theirs.write_text("TAG=the host's own\n")
    deploy = request(project, compose_dir, b"KEY=carried\n", "m-envclobber")
    deploy.env_text, deploy.write_env = "TAG=1\n", True

    check = project_files_check(stub, deploy)
    assert not check.ok and str(theirs) in check.detail, check
    with pytest.raises(grpc.RpcError) as refused:
        stub.DeployStack(deploy)
    assert refused.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert theirs.read_text() == "TAG=the host's own\n"
