"""Paths from the network: compose directories, compose files and mountpoints must lie inside
the agent's allowed path roots after normalisation, whether by `..` or through a symlink."""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Iterator

import grpc
import pytest

from stackferry.api.agent.v1 import agent_pb2, agent_pb2_grpc

from .conftest import SecureAgent, unique

# Path checks do not depend on the storage backend: the matrix runs over the directory backend
# (no pool to build per case); one case whose refusal stops a zfs mount runs over zfs.
DIRECTORY = pytest.mark.parametrize("secure_agent", ["directory"], indirect=True)

REFUSED = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.PERMISSION_DENIED}
SECRET = "outside-secret: must never be read or overwritten\n"
COMPOSE = "services:\n  web:\n    image: local/busybox:1\n    command: sleep 3600\n"


def tree(agent: SecureAgent) -> dict[str, str]:
    """Every path under the allowed root and beside it, with its content (or link target)."""
    found = {}
    for path in sorted([*agent.path_root.rglob("*"), *agent.outside.rglob("*")]):
        if path.is_symlink():
            found[str(path)] = "-> " + str(path.readlink())
        elif path.is_file():
            found[str(path)] = path.read_text()
        else:
            found[str(path)] = "dir"
    return found


def containers_of(agent: SecureAgent, project: str) -> str:
    label = f"label=com.docker.compose.project={project}"
    listing = subprocess.run(
        ["docker", "-H", agent.docker_host, "ps", "-aq", "--filter", label],
        capture_output=True,
        text=True,
        check=True,
    )
    return listing.stdout.strip()


@pytest.fixture
def project(secure_agent: SecureAgent) -> Iterator[str]:
    """The project name a deploy test asks for; should the agent start it after all, its
    containers and network are removed afterwards."""
    name = unique("sfsec")
    yield name
    docker = ["docker", "-H", secure_agent.docker_host]
    if started := containers_of(secure_agent, name).split():
        subprocess.run([*docker, "rm", "-f", *started], capture_output=True, check=True)
        subprocess.run([*docker, "network", "rm", f"{name}_default"], capture_output=True)


@pytest.fixture
def layout(secure_agent: SecureAgent) -> SecureAgent:
    """roots/escape -> outside (a symlinked directory), roots/app/docker-compose.yml ->
    outside/victim.yml (a symlinked file), and a compose file outside the roots."""
    (secure_agent.outside / "victim.yml").write_text(SECRET)
    (secure_agent.outside / "docker-compose.yml").write_text(SECRET)
    (secure_agent.path_root / "escape").symlink_to(secure_agent.outside)
    (secure_agent.path_root / "app").mkdir()
    (secure_agent.path_root / "app" / "docker-compose.yml").symlink_to(
        secure_agent.outside / "victim.yml"
    )
    return secure_agent


def deploy_request(project: str, compose_dir: str, **overrides: object) -> agent_pb2.DeployRequest:
    fields: dict[str, object] = {
        "project_name": project,
        "compose_dir": compose_dir,
        "compose_text": COMPOSE,
        "env_text": "A=1\n",
        "write_env": True,
        "wait_timeout_seconds": 10,
        **overrides,
    }
    return agent_pb2.DeployRequest(**fields)  # type: ignore[arg-type]


def deploy_cases(agent: SecureAgent, project: str) -> dict[str, agent_pb2.DeployRequest]:
    root, outside = agent.path_root, agent.outside
    request = functools.partial(deploy_request, project)
    return {
        "dot-dot": request(f"{root}/../outside/new"),
        "outside": request(f"{outside}/new"),
        "symlinked directory": request(f"{root}/escape/new"),
        "relative": request("new"),
        "filename with dot-dot": request(f"{root}/fresh", compose_filename="../../outside/x.yml"),
        "filename with a slash": request(f"{root}/fresh", compose_filename=f"{outside}/x.yml"),
        "mountpoint outside": request(
            f"{root}/fresh",
            mounts=[agent_pb2.DatasetMount(dataset=agent.dataset_root, mountpoint=str(outside))],
        ),
        "dataset outside": request(
            f"{root}/fresh",
            mounts=[
                agent_pb2.DatasetMount(
                    dataset=agent.outside_dataset, mountpoint=f"{root}/fresh/data"
                )
            ],
        ),
    }


DEPLOY_CASES = [
    "dot-dot",
    "outside",
    "symlinked directory",
    "relative",
    "filename with dot-dot",
    "filename with a slash",
    "mountpoint outside",
    "dataset outside",
]


@pytest.mark.parametrize(
    ("secure_agent", "case"),
    [*(("directory", case) for case in DEPLOY_CASES), ("zfs", "mountpoint outside")],
    indirect=["secure_agent"],
)
def test_deploy_outside_the_roots_is_refused_and_nothing_is_written(
    layout: SecureAgent, stub: agent_pb2_grpc.AgentStub, project: str, case: str
) -> None:
    request = deploy_cases(layout, project)[case]
    before = tree(layout)
    datasets = layout.datasets()
    with pytest.raises(grpc.RpcError) as error:
        stub.DeployStack(request, timeout=60)
    assert error.value.code() in REFUSED, error.value.details()
    assert tree(layout) == before
    assert layout.datasets() == datasets
    assert containers_of(layout, request.project_name) == ""


@DIRECTORY
def test_deploy_does_not_write_through_a_symlinked_compose_file(
    layout: SecureAgent, stub: agent_pb2_grpc.AgentStub, project: str
) -> None:
    """roots/app/docker-compose.yml points at outside/victim.yml. The victim holds the very
    compose text of the request, which a deploy accepts as a redeploy: only the symlink check
    stands between the request and a write (or an `up`) through the link."""
    victim = layout.outside / "victim.yml"
    victim.write_text(COMPOSE)
    request = deploy_request(
        project, str(layout.path_root / "app"), env_text="VICTIM=overwritten\n"
    )
    before, victim_bytes = tree(layout), victim.read_bytes()
    with pytest.raises(grpc.RpcError) as error:
        stub.DeployStack(request, timeout=60)
    assert error.value.code() in REFUSED, error.value.details()
    assert victim.read_bytes() == victim_bytes
    assert tree(layout) == before  # the link is still the link, and no .env was written
    assert containers_of(layout, request.project_name) == ""


@DIRECTORY
@pytest.mark.parametrize(
    "compose_path",
    [
        "{root}/../outside/docker-compose.yml",
        "{outside}/docker-compose.yml",
        "{root}/escape/docker-compose.yml",
        "{root}/app/docker-compose.yml",  # a symlink to outside/victim.yml
        "docker-compose.yml",
    ],
)
@pytest.mark.parametrize("rpc", ["InspectStack", "StopStack", "StartStack"])
def test_stack_paths_outside_the_roots_are_refused_and_not_read(
    layout: SecureAgent, stub: agent_pb2_grpc.AgentStub, compose_path: str, rpc: str
) -> None:
    path = compose_path.format(root=layout.path_root, outside=layout.outside)
    request: object = agent_pb2.StackRef(project_name=unique("sfsec"), compose_path=path)
    if rpc == "InspectStack":
        request = agent_pb2.InspectStackRequest(compose_path=path)
    with pytest.raises(grpc.RpcError) as error:
        getattr(stub, rpc)(request, timeout=30)
    assert error.value.code() in REFUSED, error.value.details()
    assert "outside-secret" not in (error.value.details() or "")
