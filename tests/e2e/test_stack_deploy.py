"""A compose stack with its data on zfs-fuse moves from engine A to engine B: inspected on A,
stopped, its dataset copied, deployed on B with the translated path, rolled back on A; and
an image B lacks is copied A -> B through the two agents' stream RPCs."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest
from stack_fixtures import agent_stub, compose_projects, project_containers  # noqa: F401

from stackferry.api.agent.v1 import agent_pb2, agent_pb2_grpc

Stub = agent_pb2_grpc.AgentStub
HTTP_PORT = 8123  # inside the web container's own network namespace: never on the host
COMPOSE = f"""\
# a writer appends to a log on the dataset; web serves the dataset's www folder
services:
  writer:
    image: local/busybox:1
    command: ["sh", "-c", "while true; do date >> /data/log; sleep 1; done"]
    volumes:
      - ${{DATA_DIR}}:/data
    stop_grace_period: 1s
  web:
    image: local/busybox:1
    command: ["httpd", "-f", "-p", "{HTTP_PORT}", "-h", "/www"]
    volumes:
      - type: bind
        source: ${{DATA_DIR}}/www
        target: /www
        read_only: true
"""


def sh(*argv: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, **(env or {})})
    assert done.returncode == 0, f"{argv}: {done.stderr}"
    return done.stdout


def container_exec(docker_host: str, container: str, *argv: str) -> str:
    return sh("docker", "-H", docker_host, "exec", container, *argv)


def labels(docker_host: str, container: str) -> dict[str, str]:
    client = docker.DockerClient(base_url=docker_host)
    try:
        return dict(client.containers.get(container).labels)
    finally:
        client.close()


def push_snapshot(
    source: Stub, target: Stub, target_address: str, snapshot: str, dataset: str, base: str = ""
) -> None:
    """PrepareReceive on the target, SendStream (zfs) on the source, pushed agent to agent."""
    base_guid = sh("zfs", "get", "-Hp", "-o", "value", "guid", base).strip() if base else ""
    ticket = target.PrepareReceive(
        agent_pb2.PrepareReceiveRequest(
            kind=agent_pb2.STREAM_ZFS, target_dataset=dataset, base_snapshot_guid=base_guid
        )
    ).ticket
    header = agent_pb2.ReceiveHeader(
        kind=agent_pb2.STREAM_ZFS,
        ticket=ticket,
        target_dataset=dataset,
        base_snapshot_guid=base_guid,
    )
    events = list(
        source.SendStream(
            agent_pb2.SendRequest(
                kind=agent_pb2.STREAM_ZFS,
                snapshot=snapshot,
                base_snapshot=base,
                peer=target_address,
                header=header,
            )
        )
    )
    assert events[-1].done.received_snapshot == f"{dataset}@{snapshot.partition('@')[2]}"


def test_stack_moves_from_a_to_b_and_rolls_back(
    zfs_pool: Callable[..., object],
    start_agent: Callable[..., object],
    docker_hosts: tuple[str, str],
    tmp_path: Path,
    compose_projects: Callable[[str, str], str],  # noqa: F811
    agent_stub: Callable[[str], Stub],  # noqa: F811
) -> None:
    host_a, host_b = docker_hosts
    pool_a, pool_b = zfs_pool("a"), zfs_pool("b")
    source_ds, target_ds = f"{pool_a.name}/app", f"{pool_b.name}/app"  # type: ignore[attr-defined]
    sh("zfs", "create", source_ds)
    data_a = Path(pool_a.mountpoint) / "app"  # type: ignore[attr-defined]
    (data_a / "www").mkdir()
    (data_a / "www" / "index.html").write_text("hello from host A\n")

    project = compose_projects(host_a, f"sfmove{uuid.uuid4().hex[:6]}")
    compose_projects(host_b, project)
    stack_a = tmp_path / "stacks-a" / "web"
    stack_a.mkdir(parents=True)
    (stack_a / "docker-compose.yml").write_text(COMPOSE)
    (stack_a / ".env").write_text(f"# where the data lives\nDATA_DIR={data_a}\n")
    compose_file_a = str(stack_a / "docker-compose.yml")
    sh(
        "docker-compose",
        "-p",
        project,
        "-f",
        compose_file_a,
        "up",
        "-d",
        env={"DOCKER_HOST": host_a},
    )

    agent_a = agent_stub(
        start_agent(  # type: ignore[attr-defined]
            "--insecure", "--docker-host", host_a,
            "--allowed-path-root", str(tmp_path / "stacks-a"),
            "--allowed-dataset-root", pool_a.name,  # type: ignore[attr-defined]
        ).address
    )  # fmt: skip
    stacks_b, data_b = tmp_path / "stacks-b", tmp_path / "hostb" / "data" / "app"
    b_address = start_agent(  # type: ignore[attr-defined]
        "--insecure", "--docker-host", host_b,
        "--allowed-path-root", str(stacks_b),
        "--allowed-path-root", str(data_b.parent),
        "--allowed-dataset-root", pool_b.name,  # type: ignore[attr-defined]
    ).address  # fmt: skip
    agent_b = agent_stub(b_address)

    info = agent_a.InspectStack(agent_pb2.InspectStackRequest(compose_path=compose_file_a))
    assert info.project_name == "web"  # the directory name; -p below keeps ours
    info = agent_a.InspectStack(
        agent_pb2.InspectStackRequest(compose_path=compose_file_a, project_name=project)
    )
    assert {s.name: [c.state for c in s.containers] for s in info.services} == {
        "writer": ["running"],
        "web": ["running"],
    }
    assert [
        (m.service, m.source, m.on_zfs, m.dataset, m.dataset_mountpoint) for m in info.mounts
    ] == [
        ("writer", str(data_a), True, source_ds, str(data_a)),
        ("web", str(data_a / "www"), True, source_ds, str(data_a)),
    ]
    assert list(info.datasets) == [source_ds]
    assert [(i.name, i.present) for i in info.images] == [("local/busybox:1", True)]

    # the bulk copy while the stack runs, the delta once it is stopped (the agents stream it)
    sh("zfs", "snapshot", f"{source_ds}@sf-1")
    push_snapshot(agent_a, agent_b, b_address, f"{source_ds}@sf-1", target_ds)
    stopped = agent_a.StopStack(
        agent_pb2.StackRef(project_name=project, compose_path=compose_file_a, timeout_seconds=5)
    )
    assert {c.state for s in stopped.services for c in s.containers} == {"exited"}
    lines_on_a = (data_a / "log").read_text()
    assert lines_on_a
    sh("zfs", "snapshot", f"{source_ds}@sf-2")
    push_snapshot(agent_a, agent_b, b_address, f"{source_ds}@sf-2", target_ds, f"{source_ds}@sf-1")

    # what the controller's translation produces: the path comes from .env, so .env changes
    deploy = agent_pb2.DeployRequest(
        project_name=project,
        compose_dir=str(stacks_b / "web"),
        compose_text=info.compose_text,
        env_text=info.env_text.replace(str(data_a), str(data_b)),
        write_env=True,
        mounts=[agent_pb2.DatasetMount(dataset=target_ds, mountpoint=str(data_b))],
        wait_timeout_seconds=60,
    )
    checked = agent_b.CheckDeploy(deploy)
    assert all(c.ok for c in checked.checks), checked
    deployed = agent_b.DeployStack(deploy)
    assert deployed.ok, (deployed.error, dict(deployed.logs))

    writer, web = f"{project}_writer_1", f"{project}_web_1"
    assert container_exec(host_b, web, "cat", "/www/index.html") == "hello from host A\n"
    assert container_exec(host_b, writer, "cat", "/data/log").startswith(lines_on_a)
    served = container_exec(
        host_b, web, "busybox", "wget", "-qO-", f"http://127.0.0.1:{HTTP_PORT}/index.html"
    )
    assert served == "hello from host A\n"
    for name, service in ((writer, "writer"), (web, "web")):
        got = labels(host_b, name)
        assert got["com.docker.compose.project"] == project
        assert got["com.docker.compose.service"] == service
        assert got["com.docker.compose.project.working_dir"] == str(stacks_b / "web")

    on_b = agent_b.InspectStack(
        agent_pb2.InspectStackRequest(compose_path=deployed.compose_path, project_name=project)
    )
    assert {(m.source, m.dataset, m.dataset_mountpoint) for m in on_b.mounts} == {
        (str(data_b), target_ds, str(data_b)),
        (str(data_b / "www"), target_ds, str(data_b)),
    }

    # rollback: the target is given up, the source starts again with its data
    sh("docker-compose", "-p", project, "-f", deployed.compose_path, "down", "-t", "1",
       env={"DOCKER_HOST": host_b})  # fmt: skip
    assert project_containers(host_b, project) == []
    started = agent_a.StartStack(
        agent_pb2.StackRef(project_name=project, compose_path=compose_file_a)
    )
    assert {c.state for s in started.services for c in s.containers} == {"running"}


@pytest.fixture
def image_only_on_a(docker_hosts: tuple[str, str]) -> Iterator[str]:
    """local/busybox:1 tagged under a unique name on engine A only; removed from both after."""
    name = f"local/sfimg-{uuid.uuid4().hex[:8]}:1"
    sh("docker", "-H", docker_hosts[0], "tag", "local/busybox:1", name)
    yield name
    for host in docker_hosts:
        subprocess.run(["docker", "-H", host, "rmi", name], capture_output=True)


def test_image_missing_on_b_is_transferred_then_deployed(
    start_agent: Callable[..., object],
    docker_hosts: tuple[str, str],
    tmp_path: Path,
    image_only_on_a: str,
    compose_projects: Callable[[str, str], str],  # noqa: F811
    agent_stub: Callable[[str], Stub],  # noqa: F811
) -> None:
    agents = [
        start_agent(  # type: ignore[attr-defined]
            "--insecure", "--docker-host", host,
            "--allowed-path-root", str(tmp_path / "stacks"),
            "--storage-backend", "directory",
        )
        for host in docker_hosts
    ]  # fmt: skip
    agent_a, agent_b = (agent_stub(a.address) for a in agents)  # type: ignore[attr-defined]
    project = compose_projects(docker_hosts[1], f"sfimg{uuid.uuid4().hex[:6]}")
    deploy = agent_pb2.DeployRequest(
        project_name=project,
        compose_dir=str(tmp_path / "stacks" / "img"),
        compose_text=(
            f"services:\n  app:\n    image: {image_only_on_a}\n"
            '    command: ["sh", "-c", "while true; do sleep 1; done"]\n'
            "    stop_grace_period: 1s\n"
        ),
        wait_timeout_seconds=60,
    )
    assert list(agent_b.CheckDeploy(deploy).missing_images) == [image_only_on_a]

    ticket = agent_b.PrepareReceive(
        agent_pb2.PrepareReceiveRequest(kind=agent_pb2.STREAM_IMAGES, images=[image_only_on_a])
    ).ticket
    events = list(
        agent_a.SendStream(
            agent_pb2.SendRequest(
                kind=agent_pb2.STREAM_IMAGES,
                images=[image_only_on_a],
                peer=agents[1].address,  # type: ignore[attr-defined]
                header=agent_pb2.ReceiveHeader(kind=agent_pb2.STREAM_IMAGES, ticket=ticket),
            )
        )
    )
    assert events[-1].WhichOneof("event") == "done"
    assert events[-1].done.bytes > 1_000_000  # the busybox layer

    assert list(agent_b.CheckDeploy(deploy).missing_images) == []
    deployed = agent_b.DeployStack(deploy)
    assert deployed.ok, (deployed.error, dict(deployed.logs))
    assert project_containers(docker_hosts[1], project) == [f"{project}_app_1"]
