"""The agent's journal on a real agent process and Docker engine B: a deploy started for a
migration that never committed is taken down when the agent restarts, before it serves;
one released committed stays; Discard takes down the deploy and removes the compose dir and
the volumes the migration created, and nothing else."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable
from pathlib import Path

import docker
import docker.errors
import grpc
import pytest
from conftest import AgentProcess, unique
from stack_fixtures import agent_stub, compose_projects, host_b_agent_args, project_containers  # noqa: F401
from transfer_helpers import wait_until

from stackferry.api.agent.v1 import agent_pb2, agent_pb2_grpc

Stub = agent_pb2_grpc.AgentStub
SLEEPER = """\
services:
  app:
    image: local/busybox:1
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
"""


def deploy(stub: Stub, project: str, compose_dir: Path, migration_id: str) -> None:
    reply = stub.DeployStack(
        agent_pb2.DeployRequest(
            project_name=project,
            compose_dir=str(compose_dir),
            compose_text=SLEEPER,
            wait_timeout_seconds=60,
            migration_id=migration_id,
        )
    )
    assert reply.ok, reply.error


def release(stub: Stub, migration_id: str) -> bool:
    request = agent_pb2.ReleaseRequest(migration_id=migration_id, committed=True)
    return bool(stub.Release(request).deploy_live)


def test_an_uncommitted_deploy_is_taken_down_before_the_restarted_agent_serves(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], Stub],  # noqa: F811
    compose_projects: Callable[[str, str], str],  # noqa: F811
    docker_hosts: tuple[str, str],
    host_b_agent_args: tuple[str, ...],  # noqa: F811
    tmp_path: Path,
) -> None:
    project = compose_projects(docker_hosts[1], unique("sfjournal"))
    first = start_agent(*host_b_agent_args)
    deploy(agent_stub(first.address), project, tmp_path / "stacks" / "app", "m-crash")
    assert project_containers(docker_hosts[1], project)
    first.stop(signal.SIGKILL)

    second = start_agent(*host_b_agent_args)  # returns once the ready file is there
    assert project_containers(docker_hosts[1], project) == [], "taken down before serving"
    assert "taken down" in second.log()
    assert not release(agent_stub(second.address), "m-crash"), "deploy_live is False"


def test_a_committed_deploy_survives_a_restart_and_is_never_discarded(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], Stub],  # noqa: F811
    compose_projects: Callable[[str, str], str],  # noqa: F811
    docker_hosts: tuple[str, str],
    host_b_agent_args: tuple[str, ...],  # noqa: F811
    tmp_path: Path,
) -> None:
    project = compose_projects(docker_hosts[1], unique("sfcommit"))
    first = start_agent(*host_b_agent_args)
    stub = agent_stub(first.address)
    deploy(stub, project, tmp_path / "stacks" / "app", "m-ok")
    assert release(stub, "m-ok"), "deploy_live while it runs"
    first.stop(signal.SIGKILL)

    stub = agent_stub(start_agent(*host_b_agent_args).address)
    running = project_containers(docker_hosts[1], project)
    assert running
    kept = stub.Discard(agent_pb2.DiscardRequest(migration_id="m-ok"))
    assert list(kept.removed) == [] and any("committed" in k for k in kept.kept)
    assert project_containers(docker_hosts[1], project) == running


def test_discard_takes_down_the_deploy_and_removes_what_it_created(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], Stub],  # noqa: F811
    compose_projects: Callable[[str, str], str],  # noqa: F811
    docker_hosts: tuple[str, str],
    host_b_agent_args: tuple[str, ...],  # noqa: F811
    tmp_path: Path,
) -> None:
    project = compose_projects(docker_hosts[1], unique("sfdiscard"))
    stacks = tmp_path / "stacks"
    (stacks / "shared").mkdir()
    (stacks / "shared" / "keep.txt").write_text("not the migration's\n")
    stub = agent_stub(start_agent(*host_b_agent_args).address)
    deploy(stub, project, stacks / "new" / "app", "m-undo")
    deploy(stub, f"{project}b", stacks / "shared", "m-undo2")
    compose_projects(docker_hosts[1], f"{project}b")

    result = stub.Discard(agent_pb2.DiscardRequest(migration_id="m-undo"))
    assert list(result.removed) == [
        f"deploy {project}",
        f"dir {stacks / 'new' / 'app'}",
        f"ancestor {stacks / 'new'}",  # created only to reach app, removed once empty
    ]
    assert project_containers(docker_hosts[1], project) == []
    assert not (stacks / "new").exists()
    assert stub.Discard(agent_pb2.DiscardRequest(migration_id="m-undo")).removed == []

    other = stub.Discard(agent_pb2.DiscardRequest(migration_id="m-undo2"))
    assert f"file {stacks / 'shared' / 'docker-compose.yml'}" in other.removed
    assert (stacks / "shared" / "keep.txt").read_text() == "not the migration's\n"


def test_discard_removes_the_volumes_the_migration_created_and_only_those(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], Stub],  # noqa: F811
    docker_hosts: tuple[str, str],
    host_b_agent_args: tuple[str, ...],  # noqa: F811
) -> None:
    engine = docker.DockerClient(base_url=docker_hosts[1])
    ours, theirs = unique("sfvolours"), unique("sfvoltheirs")
    try:
        stub = agent_stub(start_agent(*host_b_agent_args).address)
        for name, migration_id in ((ours, "m-vol"), (theirs, "m-other")):
            request = agent_pb2.VolumeCreateRequest(
                spec=agent_pb2.VolumeSpec(name=name, driver="local"), migration_id=migration_id
            )
            assert stub.VolumeCreate(request).exists

        result = stub.Discard(agent_pb2.DiscardRequest(migration_id="m-vol"))
        assert list(result.removed) == [f"volume {ours}"]
        names = {v.name for v in engine.volumes.list()}
        assert ours not in names and theirs in names
    finally:
        for name in (ours, theirs):
            with contextlib.suppress(docker.errors.NotFound):
                engine.volumes.get(name).remove()
        engine.close()


def test_stop_without_the_compose_file_stops_the_projects_containers_by_label(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], Stub],  # noqa: F811
    compose_projects: Callable[[str, str], str],  # noqa: F811
    docker_hosts: tuple[str, str],
    host_b_agent_args: tuple[str, ...],  # noqa: F811
    tmp_path: Path,
) -> None:
    project = compose_projects(docker_hosts[1], unique("sfnofile"))
    stub = agent_stub(start_agent(*host_b_agent_args).address)
    compose_dir = tmp_path / "stacks" / "app"
    request = agent_pb2.DeployRequest(
        project_name=project,
        compose_dir=str(compose_dir),
        compose_text=SLEEPER + "    restart: always\n",
        wait_timeout_seconds=60,
        migration_id="m-nofile",
    )
    assert stub.DeployStack(request).ok
    (compose_dir / "docker-compose.yml").unlink()  # as a failed deploy's undo leaves it
    ref = agent_pb2.StackRef(
        project_name=project, compose_path=str(compose_dir / "docker-compose.yml")
    )
    status = stub.StopStack(ref, timeout=120)
    assert [c.state for s in status.services for c in s.containers] == ["exited"]
    engine = docker.DockerClient(base_url=docker_hosts[1])
    try:
        names = project_containers(docker_hosts[1], project)
        assert [engine.containers.get(n).status for n in names] == ["exited"]
        # restart: always would bring it back when the engine restarts
        policies = [engine.containers.get(n).attrs["HostConfig"]["RestartPolicy"] for n in names]
        assert [p["Name"] for p in policies] == ["no"]
    finally:
        engine.close()
    with pytest.raises(grpc.RpcError) as refused:
        stub.StopStack(
            agent_pb2.StackRef(project_name=f"{project}none", compose_path=ref.compose_path)
        )
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]


SLOW_TO_BE_READY = """\
services:
  app:
    image: local/busybox:1
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 4; touch /tmp/ready; while :; do sleep 1;done"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 1s
      retries: 30
"""


def test_a_stop_during_a_deploy_waits_for_it_and_discard_leaves_nothing_running(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], Stub],  # noqa: F811
    compose_projects: Callable[[str, str], str],  # noqa: F811
    docker_hosts: tuple[str, str],
    host_b_agent_args: tuple[str, ...],  # noqa: F811
    tmp_path: Path,
) -> None:
    project = compose_projects(docker_hosts[1], unique("sflock"))
    stub = agent_stub(start_agent(*host_b_agent_args).address)
    compose_dir = tmp_path / "stacks" / "app"
    request = agent_pb2.DeployRequest(
        project_name=project,
        compose_dir=str(compose_dir),
        compose_text=SLOW_TO_BE_READY,
        wait_timeout_seconds=60,
        migration_id="m-lock",
    )
    replies: list[agent_pb2.DeployResult] = []
    deploying = threading.Thread(target=lambda: replies.append(stub.DeployStack(request)))
    deploying.start()
    try:
        wait_until(lambda: project_containers(docker_hosts[1], project), what="compose up")
        ref = agent_pb2.StackRef(
            project_name=project,
            compose_path=str(compose_dir / "docker-compose.yml"),
            migration_id="m-lock",
        )
        stub.StopStack(ref, timeout=120)
        # The stop waited for the deploy: it saw its service healthy, and ended first.
        assert len(replies) == 1 and replies[0].ok, replies
    finally:
        deploying.join()
    result = stub.Discard(agent_pb2.DiscardRequest(migration_id="m-lock"))
    assert f"deploy {project}" in result.removed
    assert project_containers(docker_hosts[1], project) == []
