"""Fixtures and helpers for the stack tests (tests/rpc/test_stack_rpc.py, tests/e2e/
test_stack_deploy.py, the deploy rpc tests): agent stubs, the flags of an agent on engine B,
and removal of every compose project a test created."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import grpc
import pytest

from stackferry.agent.runtime.base import PROJECT_LABEL
from stackferry.api.agent.v1 import agent_pb2_grpc
from stackferry.common.grpc_options import open_channel


def project_containers(docker_host: str, project: str) -> list[str]:
    """Names of every container (any state) of a compose project on that engine."""
    client = docker.DockerClient(base_url=docker_host)
    try:
        found = client.containers.list(all=True, filters={"label": f"{PROJECT_LABEL}={project}"})
        return sorted(c.name for c in found)
    finally:
        client.close()


def remove_project(docker_host: str, project: str) -> None:
    """What `compose down` does, without needing the compose file: containers, then networks."""
    client = docker.DockerClient(base_url=docker_host)
    try:
        label = {"label": f"{PROJECT_LABEL}={project}"}
        for container in client.containers.list(all=True, filters=label):
            container.remove(force=True)
        for network in client.networks.list(filters=label):
            network.remove()
    finally:
        client.close()


@pytest.fixture
def compose_projects() -> Iterator[Callable[[str, str], str]]:
    """compose_projects(docker_host, project) registers a project for removal after the test."""
    created: list[tuple[str, str]] = []

    def register(docker_host: str, project: str) -> str:
        created.append((docker_host, project))
        return project

    yield register
    for docker_host, project in created:
        remove_project(docker_host, project)


@pytest.fixture
def agent_stub() -> Iterator[Callable[[str], agent_pb2_grpc.AgentStub]]:
    channels: list[grpc.Channel] = []

    def connect(address: str) -> agent_pb2_grpc.AgentStub:
        channel = open_channel(address)
        channels.append(channel)
        return agent_pb2_grpc.AgentStub(channel)

    yield connect
    for channel in channels:
        channel.close()


@pytest.fixture
def host_b_agent_args(tmp_path: Path, docker_hosts: tuple[str, str]) -> tuple[str, ...]:
    """An agent on engine B with the directory backend, writing below tmp_path/stacks."""
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
