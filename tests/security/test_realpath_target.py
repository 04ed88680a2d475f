"""Target-side realpath: a path the controller sends (compose dir, mountpoint, claimed
directory) is judged by where it really leads on the agent's host; a symlink inside the
allowed roots that points out of them is refused, and the refusal names the link and
where it points."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from conftest import AgentProcess

from stackferry.api.agent.v1 import agent_pb2, agent_pb2_grpc
from stackferry.common.grpc_options import open_channel

COMPOSE = "services:\n  web:\n    image: local/busybox:1\n    command: sleep 3600\n"


@pytest.fixture
def escape(
    tmp_path: Path, start_agent: Callable[..., AgentProcess]
) -> tuple[agent_pb2_grpc.AgentStub, Path, Path]:
    root, outside = tmp_path / "roots", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    link = root / "stacks"
    link.symlink_to(outside)
    agent = start_agent(
        "--insecure",
        "--storage-backend",
        "directory",
        "--allowed-path-root",
        str(root),
        "--allowed-dataset-root",
        "pool",
    )
    return agent_pb2_grpc.AgentStub(open_channel(agent.address)), link, outside


def refusal(call: Callable[[], object]) -> str:
    with pytest.raises(grpc.RpcError) as refused:
        call()
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    return refused.value.details() or ""


def test_a_compose_dir_through_an_escaping_symlink_is_refused_by_name(
    escape: tuple[agent_pb2_grpc.AgentStub, Path, Path],
) -> None:
    agent, link, outside = escape
    request = agent_pb2.DeployRequest(
        project_name="esc", compose_dir=str(link / "app"), compose_text=COMPOSE, migration_id="m-1"
    )
    message = refusal(lambda: agent.DeployStack(request))
    assert f"symlink {link} -> {outside}" in message
    assert not any(outside.iterdir()), "nothing was written where the link points"


def test_a_mountpoint_through_an_escaping_symlink_is_refused(
    escape: tuple[agent_pb2_grpc.AgentStub, Path, Path],
) -> None:
    agent, link, outside = escape
    request = agent_pb2.DeployRequest(
        project_name="esc",
        compose_dir=str(link.parent / "real"),
        compose_text=COMPOSE,
        mounts=[agent_pb2.DatasetMount(dataset="pool/app", mountpoint=str(link / "data"))],
    )
    assert f"symlink {link} -> {outside}" in refusal(lambda: agent.DeployStack(request))
    assert not (link.parent / "real").exists()


def test_a_claimed_directory_through_an_escaping_symlink_is_refused(
    escape: tuple[agent_pb2_grpc.AgentStub, Path, Path],
) -> None:
    agent, link, outside = escape
    claim = agent_pb2.Claim(role="target", project_name="esc", paths=[str(link / "files")])
    request = agent_pb2.ClaimRequest(migration_id="m-1", claim=claim)
    assert f"symlink {link} -> {outside}" in refusal(lambda: agent.Claim(request))
