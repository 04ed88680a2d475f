"""Stack RPCs against a real agent process driving Docker engine B (the directory storage
backend: no dataset is needed here; tests/e2e/test_stack_deploy.py covers zfs-fuse)."""

from __future__ import annotations

import socket
import stat
import uuid
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from stack_fixtures import agent_stub, compose_projects, project_containers  # noqa: F401

from stackferry.api.agent.v1 import agent_pb2, agent_pb2_grpc

IMAGE = "local/busybox:1"
SLEEPER = """\
services:
  app:
    image: local/busybox:1
    command: ["sh", "-c", "echo started $$GREETING; while true; do sleep 1; done"]
    environment:
      GREETING: ${GREETING:-nobody}
    stop_grace_period: 1s
"""

Stub = agent_pb2_grpc.AgentStub


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@pytest.fixture
def stacks_root(tmp_path: Path) -> Path:
    root = tmp_path / "stacks"
    root.mkdir()
    return root


@pytest.fixture
def agent_b(
    start_agent: Callable[..., object],
    docker_hosts: tuple[str, str],
    stacks_root: Path,
    agent_stub: Callable[[str], Stub],  # noqa: F811
) -> Stub:
    agent = start_agent(
        "--insecure",
        "--docker-host",
        docker_hosts[1],
        "--allowed-path-root",
        str(stacks_root),
        "--storage-backend",
        "directory",
    )
    return agent_stub(agent.address)  # type: ignore[attr-defined]


def deploy_request(
    project: str, compose_dir: Path, text: str, env: str = "", timeout: int = 60
) -> agent_pb2.DeployRequest:
    return agent_pb2.DeployRequest(
        project_name=project,
        compose_dir=str(compose_dir),
        compose_text=text,
        env_text=env,
        write_env=bool(env),
        wait_timeout_seconds=timeout,
    )


def states(services: object) -> dict[str, list[str]]:
    return {s.name: [c.state for c in s.containers] for s in services}  # type: ignore[attr-defined]


def test_deploy_inspect_stop_start(
    agent_b: Stub,
    docker_hosts: tuple[str, str],
    stacks_root: Path,
    compose_projects: Callable[[str, str], str],  # noqa: F811
) -> None:
    project = compose_projects(docker_hosts[1], unique("sfrpc"))
    compose_dir = stacks_root / "app"
    reply = agent_b.DeployStack(
        deploy_request(project, compose_dir, SLEEPER, env="GREETING=stackferry\n")
    )
    assert reply.ok, reply.error
    assert states(reply.services) == {"app": ["running"]}
    assert reply.compose_path == str(compose_dir / "docker-compose.yml")
    for written in ("docker-compose.yml", ".env"):
        assert stat.S_IMODE((compose_dir / written).stat().st_mode) == 0o600
    assert (compose_dir / ".env").read_text() == "GREETING=stackferry\n"

    info = agent_b.InspectStack(
        agent_pb2.InspectStackRequest(compose_path=reply.compose_path, project_name=project)
    )
    assert info.project_name == project
    assert info.compose_text == SLEEPER and info.env_exists
    assert [(i.name, i.present) for i in info.images] == [(IMAGE, True)]
    assert info.services[0].containers[0].name in project_containers(docker_hosts[1], project)
    agent_info = agent_b.GetInfo(agent_pb2.GetInfoRequest())
    assert agent_info.docker_version and agent_info.compose_version

    ref = agent_pb2.StackRef(project_name=project, compose_path=reply.compose_path)
    assert states(agent_b.StopStack(ref).services) == {"app": ["exited"]}
    assert states(agent_b.StartStack(ref).services) == {"app": ["running"]}

    again = agent_b.DeployStack(deploy_request(project, compose_dir, SLEEPER))
    assert again.ok, "deploying the same compose text again is idempotent"


def test_failed_deploy_of_a_missing_image_leaves_nothing(
    agent_b: Stub,
    docker_hosts: tuple[str, str],
    stacks_root: Path,
    compose_projects: Callable[[str, str], str],  # noqa: F811
) -> None:
    project = compose_projects(docker_hosts[1], unique("sfbadimage"))
    compose_dir = stacks_root / "bad"
    text = SLEEPER.replace(IMAGE, "local/no-such-image:1")
    check = agent_b.CheckDeploy(deploy_request(project, compose_dir, text))
    assert list(check.missing_images) == ["local/no-such-image:1"]
    assert {c.name: c.ok for c in check.checks}["images"] is False

    assert {c.name: c.ok for c in check.checks}["compose_file"] is True
    unknown_key = SLEEPER.replace("    image:", "    imagez:")
    check = agent_b.CheckDeploy(deploy_request(project, compose_dir, unknown_key))
    verdict = {c.name: (c.ok, c.detail) for c in check.checks}["compose_file"]
    assert not verdict[0] and "imagez" in verdict[1]

    reply = agent_b.DeployStack(deploy_request(project, compose_dir, text, env="A=1\n"))
    assert not reply.ok
    assert "local/no-such-image:1" in reply.error
    assert project_containers(docker_hosts[1], project) == []
    assert not (compose_dir / "docker-compose.yml").exists()
    assert not (compose_dir / ".env").exists()


def test_crashing_service_reports_its_logs_and_is_removed(
    agent_b: Stub,
    docker_hosts: tuple[str, str],
    stacks_root: Path,
    compose_projects: Callable[[str, str], str],  # noqa: F811
) -> None:
    project = compose_projects(docker_hosts[1], unique("sfcrash"))
    text = SLEEPER + (
        "  broken:\n"
        "    image: local/busybox:1\n"
        '    command: ["sh", "-c", "echo cannot open /config/app.ini; exit 1"]\n'
    )
    reply = agent_b.DeployStack(deploy_request(project, stacks_root / "crash", text))
    assert not reply.ok
    assert f"{project}_broken_1 exited with code 1" in reply.error
    assert "cannot open /config/app.ini" in reply.logs[f"{project}_broken_1"]
    assert project_containers(docker_hosts[1], project) == []


def test_service_whose_port_is_taken_fails_with_logs(
    agent_b: Stub,
    docker_hosts: tuple[str, str],
    stacks_root: Path,
    compose_projects: Callable[[str, str], str],  # noqa: F811
) -> None:
    project = compose_projects(docker_hosts[1], unique("sfport"))
    with socket.socket() as held:
        held.bind(("0.0.0.0", 0))
        held.listen()
        port = held.getsockname()[1]
        published = f'services:\n  web:\n    image: {IMAGE}\n    ports: ["{port}:80"]\n'
        check = agent_b.CheckDeploy(deploy_request(project, stacks_root / "port", published))
        assert {c.name: (c.ok, c.detail) for c in check.checks}["ports"] == (
            False,
            f"in use: {port}/tcp",
        )
        host_network = (
            "services:\n"
            "  web:\n"
            f"    image: {IMAGE}\n"
            "    network_mode: host\n"
            f'    command: ["httpd", "-f", "-p", "{port}", "-h", "/"]\n'
        )
        reply = agent_b.DeployStack(deploy_request(project, stacks_root / "port", host_network))
    assert not reply.ok
    assert f"{project}_web_1 exited with code 1" in reply.error
    assert "Address already in use" in reply.logs[f"{project}_web_1"]
    assert project_containers(docker_hosts[1], project) == []


def test_refusals_map_to_status_codes(agent_b: Stub, stacks_root: Path, tmp_path: Path) -> None:
    occupied = stacks_root / "occupied"
    occupied.mkdir()
    (occupied / "docker-compose.yml").write_text("name: someoneelse\nservices: {}\n")
    cases = [
        (deploy_request("sfother", occupied, SLEEPER), grpc.StatusCode.ALREADY_EXISTS),
        (
            deploy_request("sfout", tmp_path / "elsewhere", SLEEPER),
            grpc.StatusCode.PERMISSION_DENIED,
        ),
        (deploy_request("Bad Name!", stacks_root / "x", SLEEPER), grpc.StatusCode.INVALID_ARGUMENT),
        (
            deploy_request("sfyaml", stacks_root / "y", "services: [a"),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
    ]
    for request, code in cases:
        with pytest.raises(grpc.RpcError) as failure:
            agent_b.DeployStack(request)
        assert failure.value.code() == code, failure.value.details()
    assert (occupied / "docker-compose.yml").read_text() == "name: someoneelse\nservices: {}\n"
    assert sorted(p.name for p in stacks_root.iterdir()) == ["occupied"]

    with pytest.raises(grpc.RpcError) as missing:
        agent_b.InspectStack(
            agent_pb2.InspectStackRequest(compose_path=str(stacks_root / "none.yml"))
        )
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


def test_agent_without_a_docker_engine_starts_and_answers_unavailable(
    start_agent: Callable[..., object],
    stacks_root: Path,
    tmp_path: Path,
    agent_stub: Callable[[str], Stub],  # noqa: F811
) -> None:
    agent = start_agent(
        "--insecure",
        "--docker-host",
        f"unix://{tmp_path}/no-engine.sock",
        "--allowed-path-root",
        str(stacks_root),
        "--storage-backend",
        "directory",
    )
    stub = agent_stub(agent.address)  # type: ignore[attr-defined]
    info = stub.GetInfo(agent_pb2.GetInfoRequest())
    assert info.docker_version == ""
    assert info.compose_variant in ("docker compose", "docker-compose")
    (stacks_root / "docker-compose.yml").write_text(SLEEPER)
    with pytest.raises(grpc.RpcError) as failure:
        stub.InspectStack(
            agent_pb2.InspectStackRequest(compose_path=str(stacks_root / "docker-compose.yml"))
        )
    assert failure.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "no-engine.sock" in (failure.value.details() or "")


HEALTHCHECKED = """\
services:
  app:
    image: local/busybox:1
    command: ["sh", "-c", "sleep 2; echo > /tmp/ready; while true; do sleep 1; done"]
    stop_grace_period: 1s
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/READY_FILE"]
      interval: 1s
      retries: 2
"""


def test_deploy_waits_for_healthy_and_fails_on_unhealthy(
    agent_b: Stub,
    docker_hosts: tuple[str, str],
    stacks_root: Path,
    compose_projects: Callable[[str, str], str],  # noqa: F811
) -> None:
    healthy = compose_projects(docker_hosts[1], unique("sfhealthy"))
    text = HEALTHCHECKED.replace("READY_FILE", "ready")
    reply = agent_b.DeployStack(deploy_request(healthy, stacks_root / "healthy", text))
    assert reply.ok, reply.error
    assert [c.health for c in reply.services[0].containers] == ["healthy"]

    sick = compose_projects(docker_hosts[1], unique("sfunhealthy"))
    text = HEALTHCHECKED.replace("READY_FILE", "never")
    reply = agent_b.DeployStack(deploy_request(sick, stacks_root / "sick", text))
    assert not reply.ok
    assert reply.error == f"{sick}_app_1 is unhealthy"
    assert project_containers(docker_hosts[1], sick) == []
