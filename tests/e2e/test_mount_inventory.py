"""The mount inventory against a real agent and Docker engine A: every mount of every service,
from the merged compose project (its override file's mounts included) AND from what the engine
mounted (a mount no file given shows is still seen), and the plan's mover for each one, by
name."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest
from conftest import AgentProcess
from migration_world import IMAGE, PROJECT_LABEL

from stackferry.controller.agents import AgentDialer
from stackferry.controller.domain.model import MigrationSpec, Mover
from stackferry.controller.planner import Planner

pytestmark = [pytest.mark.docker]

IDLE = "trap 'exit 0' TERM; while true; do sleep 0.2; done"
COMPOSE = f"""\
services:
  app:
    image: {IMAGE}
    command: ["sh", "-c", "{IDLE}"]
    tmpfs: /run/app
    volumes:
      - ./conf:/conf:ro
      - data:/data
      - /scratch
      - /etc/localtime:/etc/localtime:ro
volumes:
  data: {{}}
"""
# Started with this override too: the running container has a mount the file above lacks.
OVERRIDE = """\
services:
  app:
    volumes:
      - ./extra:/extra
"""


@pytest.fixture
def project(docker_hosts: tuple[str, str]) -> Iterator[str]:
    name = f"sfinv{os.urandom(4).hex()}"
    yield name
    client = docker.DockerClient(base_url=docker_hosts[0])
    try:
        for container in client.containers.list(
            all=True, filters={"label": f"{PROJECT_LABEL}={name}"}
        ):
            container.remove(force=True, v=True)
        for network in client.networks.list(filters={"label": f"{PROJECT_LABEL}={name}"}):
            network.remove()
        for volume in client.volumes.list():
            if volume.name.startswith(name):
                volume.remove(force=True)
    finally:
        client.close()


def test_the_inventory_has_every_mount_and_the_plan_a_mover_for_each(
    tmp_path: Path,
    start_agent: Callable[..., AgentProcess],
    docker_hosts: tuple[str, str],
    project: str,
) -> None:
    stack = tmp_path / "stack"
    (stack / "conf").mkdir(parents=True)
    (stack / "conf" / "app.ini").write_text("[app]\n")
    (stack / "extra").mkdir()
    (stack / "docker-compose.yml").write_text(COMPOSE)
    (stack / "override.yml").write_text(OVERRIDE)
    up = ["docker-compose", "-p", project, "-f", str(stack / "docker-compose.yml")]
    subprocess.run(
        [*up, "-f", str(stack / "override.yml"), "up", "-d"],
        check=True, capture_output=True, timeout=120,
        env={**os.environ, "DOCKER_HOST": docker_hosts[0]},
    )  # fmt: skip
    agent = start_agent(
        "--insecure", "--storage-backend", "directory",
        "--allowed-path-root", str(tmp_path), "--docker-host", docker_hosts[0],
    )  # fmt: skip
    dialer = AgentDialer()
    files = (str(stack / "docker-compose.yml"), str(stack / "override.yml"))
    try:
        source = dialer.dial(agent.address)
        alone = source.inspect_stack(files[0], project)
        info = source.inspect_stack(files[0], project, files)
        spec = MigrationSpec(
            name=project,
            compose_path=files[0],
            compose_files=files,
            source_agent=agent.address,
            target_agent=agent.address,
            target_dataset="",
            target_base=str(tmp_path / "target"),
            project_name=project,
        )
        plan = Planner(dialer).plan(spec)
    finally:
        dialer.close()

    seen_alone = {m.target: m.seen_in for m in alone.mounts}
    assert seen_alone["/extra"] == "container"  # the main file alone: only the engine knows it
    by_target = {m.target: m for m in info.mounts}
    assert set(by_target) == {"/run/app", "/conf", "/data", "/scratch", "/etc/localtime", "/extra"}
    assert by_target["/extra"].seen_in == "compose+container"  # the override declares it
    assert by_target["/extra"].resolved_source == str(stack / "extra")
    assert by_target["/conf"].seen_in == "compose+container" and by_target["/conf"].read_only
    data = by_target["/data"]
    assert (data.type, data.volume, data.volume_key) == ("volume", f"{project}_data", "data")
    assert data.volume_labels["com.docker.compose.project"] == project
    assert data.volume_mountpoint.endswith(f"/volumes/{project}_data/_data")
    assert by_target["/scratch"].anonymous and len(by_target["/scratch"].volume) == 64

    movers = {m.target: (m.mover, m.reason) for m in plan.mounts}
    assert movers["/run/app"][0] is Mover.NOTHING
    assert movers["/conf"][0] is Mover.FILES
    # The override's mount: the target is deployed with the override too, and gets it.
    assert movers["/extra"][0] is Mover.FILES
    assert movers["/data"][0] is Mover.FILES
    assert movers["/etc/localtime"][0] is Mover.LEFT_ALONE
    assert movers["/scratch"][0] is Mover.REFUSED
    assert "--exclude app:/scratch" in movers["/scratch"][1]
    assert {f.name for f in plan.files} == {
        str(stack / "conf"),
        str(stack / "extra"),
        f"volume {project}_data",
    }
