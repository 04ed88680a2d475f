"""Paths from the network: compose directories, compose files and mountpoints must lie inside
the agent's allowed path roots after normalisation, whether by `..` or through a symlink."""

from __future__ import annotations

import subprocess

import grpc
import pytest

from stackferry.api.agent.v1 import agent_pb2, agent_pb2_grpc

from .conftest import SecureAgent, unique

# Refusals are storage-independent: they must hold over zfs and the directory backend alike.
pytestmark = pytest.mark.parametrize("secure_agent", ["zfs", "directory"], indirect=True)

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


def deploy_request(compose_dir: str, **overrides: object) -> agent_pb2.DeployRequest:
    fields: dict[str, object] = {
        "project_name": unique("sfsec"),
        "compose_dir": compose_dir,
        "compose_text": COMPOSE,
        "env_text": "A=1\n",
        "write_env": True,
        "wait_timeout_seconds": 10,
        **overrides,
    }
    return agent_pb2.DeployRequest(**fields)  # type: ignore[arg-type]


def deploy_cases(agent: SecureAgent) -> dict[str, agent_pb2.DeployRequest]:
    root, outside = agent.path_root, agent.outside
    return {
        "dot-dot": deploy_request(f"{root}/../outside/new"),
        "outside": deploy_request(f"{outside}/new"),
        "symlinked directory": deploy_request(f"{root}/escape/new"),
        "relative": deploy_request("new"),
        "filename with dot-dot": deploy_request(
            f"{root}/fresh", compose_filename="../../outside/x.yml"
        ),
        "filename with a slash": deploy_request(
            f"{root}/fresh", compose_filename=f"{outside}/x.yml"
        ),
        "mountpoint outside": deploy_request(
            f"{root}/fresh",
            mounts=[agent_pb2.DatasetMount(dataset=agent.dataset_root, mountpoint=str(outside))],
        ),
        "dataset outside": deploy_request(
            f"{root}/fresh",
            mounts=[
                agent_pb2.DatasetMount(
                    dataset=agent.outside_dataset, mountpoint=f"{root}/fresh/data"
                )
            ],
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "dot-dot",
        "outside",
        "symlinked directory",
        "relative",
        "filename with dot-dot",
        "filename with a slash",
        "mountpoint outside",
        "dataset outside",
    ],
)
def test_deploy_outside_the_roots_is_refused_and_nothing_is_written(
    layout: SecureAgent, stub: agent_pb2_grpc.AgentStub, case: str
) -> None:
    request = deploy_cases(layout)[case]
    before = tree(layout)
    datasets = layout.datasets()
    with pytest.raises(grpc.RpcError) as error:
        stub.DeployStack(request, timeout=60)
    assert error.value.code() in REFUSED, error.value.details()
    assert tree(layout) == before
    assert layout.datasets() == datasets
    assert containers_of(layout, request.project_name) == ""


def test_deploy_does_not_write_through_a_symlinked_compose_file(
    layout: SecureAgent, stub: agent_pb2_grpc.AgentStub
) -> None:
    """roots/app/docker-compose.yml points outside: writing it would overwrite victim.yml."""
    request = deploy_request(str(layout.path_root / "app"))
    with pytest.raises(grpc.RpcError) as error:
        stub.DeployStack(request, timeout=60)
    # An existing compose file may also be refused as ALREADY_EXISTS; either way, not written.
    assert error.value.code() in REFUSED | {grpc.StatusCode.ALREADY_EXISTS}
    assert (layout.outside / "victim.yml").read_text() == SECRET
    assert containers_of(layout, request.project_name) == ""


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
