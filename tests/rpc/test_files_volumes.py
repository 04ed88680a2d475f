"""Named volumes through the file mover: inspected on engine A, created on engine B with the
same name, driver, options and labels (compose's included), their data moved and verified,
and `docker-compose up` on B adopting the volume without its "already exists" warning."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest
from conftest import TEST_IMAGE, AgentProcess, unique
from files_helpers import clients, make_tree, push, stats

from stackferry.agent.runtime.base import PROJECT_LABEL
from stackferry.controller import errors
from stackferry.hostapi import FileTree, VolumeSpec

COMPOSE = """\
services:
  db:
    image: {image}
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
    volumes:
      - dbdata:/var/lib/db
volumes:
  dbdata: {{}}
"""


@pytest.fixture
def engines(
    docker_hosts: tuple[str, str],
) -> Iterator[tuple[docker.DockerClient, docker.DockerClient]]:
    a, b = (docker.DockerClient(base_url=host) for host in docker_hosts)
    yield a, b
    a.close()
    b.close()


@pytest.fixture
def project() -> str:
    return unique("sfvol")


@pytest.fixture
def volume_a(
    engines: tuple[docker.DockerClient, docker.DockerClient], project: str
) -> Iterator[str]:
    """A volume on A as compose made it (its labels), holding a tree of every kind."""
    a, b = engines
    name = f"{project}_dbdata"
    labels = {PROJECT_LABEL: project, "com.docker.compose.volume": "dbdata"}
    volume = a.volumes.create(name=name, driver="local", labels=labels)
    make_tree(Path(volume.attrs["Mountpoint"]) / "db")
    yield name
    for engine in (a, b):
        for container in engine.containers.list(all=True, filters={"volume": name}):
            container.remove(force=True)
        for found in engine.volumes.list(filters={"name": name}):
            found.remove(force=True)
        for network in engine.networks.list(filters={"label": f"{PROJECT_LABEL}={project}"}):
            network.remove()


def agents(
    start_agent: Callable[..., AgentProcess], docker_hosts: tuple[str, str], tmp_path: Path
) -> tuple[AgentProcess, AgentProcess]:
    flags = ("--insecure", "--storage-backend", "directory", "--allowed-path-root", str(tmp_path))
    source = start_agent(*flags, "--docker-host", docker_hosts[0])
    target = start_agent(*flags, "--docker-host", docker_hosts[1])
    return source, target


def test_a_named_volume_moves_to_engine_b_and_compose_adopts_it(
    start_agent: Callable[..., AgentProcess],
    docker_hosts: tuple[str, str],
    engines: tuple[docker.DockerClient, docker.DockerClient],
    volume_a: str,
    project: str,
    tmp_path: Path,
) -> None:
    source, target = agents(start_agent, docker_hosts, tmp_path)
    a, b, dialer = clients(source, target, "m-volume")
    try:
        info = a.inspect_volume(volume_a)
        assert info.exists and not info.empty and info.size_bytes > 3 << 20
        assert not b.inspect_volume(volume_a).exists
        created = b.create_volume(info.spec())
        assert (created.driver, created.driver_opts) == (info.driver, info.driver_opts)
        assert created.labels == {**info.labels, "stackferry.migration": "m-volume"}
        assert created.empty
        push(a, b, FileTree(volume=volume_a), FileTree(volume=volume_a))
        assert a.file_manifest(FileTree(volume=volume_a)) == b.file_manifest(
            FileTree(volume=volume_a)
        )
        assert stats(Path(created.mountpoint)) == stats(Path(info.mountpoint))

        compose_dir = tmp_path / "stack"
        compose_dir.mkdir()

        def compose_b(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                ["docker-compose", "-p", project, *args],
                cwd=compose_dir,
                env={**os.environ, "DOCKER_HOST": docker_hosts[1]},
                capture_output=True,
                text=True,
                timeout=120,
            )

        (compose_dir / "docker-compose.yml").write_text(COMPOSE.format(image=TEST_IMAGE))
        up = compose_b("up", "-d")
        assert up.returncode == 0, up.stderr
        assert "already exists" not in up.stderr
        container = engines[1].containers.list(filters={"volume": volume_a})[0]
        seen = container.exec_run(["cat", "/var/lib/db/db/hello.txt"])
        assert seen.output == b"hello\n"
        users = b.inspect_volume(volume_a).used_by
        assert [(u.project, u.service, u.running) for u in users] == [(project, "db", True)]
    finally:
        dialer.close()


def test_a_non_empty_volume_of_that_name_is_refused_without_allow_overwrite(
    start_agent: Callable[..., AgentProcess],
    docker_hosts: tuple[str, str],
    engines: tuple[docker.DockerClient, docker.DockerClient],
    volume_a: str,
    tmp_path: Path,
) -> None:
    source, target = agents(start_agent, docker_hosts, tmp_path)
    occupied = engines[1].volumes.create(name=volume_a)
    (Path(occupied.attrs["Mountpoint"]) / "theirs").write_text("not ours\n")
    a, b, dialer = clients(source, target, "m-other")
    spec = a.inspect_volume(volume_a).spec()
    try:
        with pytest.raises(errors.AlreadyExists, match="holds data"):
            b.create_volume(spec)
        with pytest.raises(errors.AlreadyExists, match="already holds data"):
            push(a, b, FileTree(volume=volume_a), FileTree(volume=volume_a))
        assert (Path(occupied.attrs["Mountpoint"]) / "theirs").read_text() == "not ours\n"
        kept = b.create_volume(spec, allow_overwrite=True)
        assert kept.labels == {}
    finally:
        dialer.close()


def test_volume_options_are_kept(
    start_agent: Callable[..., AgentProcess],
    docker_hosts: tuple[str, str],
    engines: tuple[docker.DockerClient, docker.DockerClient],
    project: str,
    tmp_path: Path,
) -> None:
    source, target = agents(start_agent, docker_hosts, tmp_path)
    name = f"{project}_scratch"
    options = {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}
    engines[0].volumes.create(name=name, driver="local", driver_opts=options)
    a, b, dialer = clients(source, target, "m-options")
    try:
        created = b.create_volume(VolumeSpec(name, "local", options, {}))
        assert created.driver_opts == options == a.inspect_volume(name).driver_opts
    finally:
        dialer.close()
        for engine in engines:
            for found in engine.volumes.list(filters={"name": name}):
                found.remove(force=True)
