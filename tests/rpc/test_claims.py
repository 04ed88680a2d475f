"""Claims on a real agent process: while one migration holds a project, dataset or directory,
another migration's mutating call on it is refused with ALREADY_EXISTS naming the holder;
claims survive an agent restart, expire, and are freed by Release."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from conftest import AgentProcess
from stack_fixtures import agent_stub  # noqa: F401

from stackferry.api.agent.v1 import agent_pb2, agent_pb2_grpc

Stub = agent_pb2_grpc.AgentStub
COMPOSE = "services:\n  web:\n    image: local/busybox:1\n    command: sleep 3600\n"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "stacks"
    (path / "shop").mkdir(parents=True)
    return path


def agent_args(root: Path, state: Path) -> tuple[str, ...]:
    return (
        "--insecure",
        "--storage-backend",
        "directory",
        "--allowed-path-root",
        str(root),
        "--allowed-dataset-root",
        "pool",
        "--state-dir",
        str(state),
    )


def claim(
    stub: Stub,
    migration_id: str,
    role: str = "source",
    ttl: int = 0,
    compose_path: str = "",
    datasets: tuple[str, ...] = (),
) -> agent_pb2.ClaimGrant:
    message = agent_pb2.Claim(
        role=role,
        project_name="shop",
        ttl_seconds=ttl,
        compose_path=compose_path,
        datasets=datasets,
    )
    return stub.Claim(agent_pb2.ClaimRequest(migration_id=migration_id, claim=message))


def refused(call: Callable[[], object]) -> str:
    with pytest.raises(grpc.RpcError) as error:
        call()
    assert error.value.code() == grpc.StatusCode.ALREADY_EXISTS, error.value.details()
    return error.value.details() or ""


def stop(stub: Stub, root: Path, migration_id: str) -> object:
    compose = str(root / "shop" / "docker-compose.yml")
    return stub.StopStack(agent_pb2.StackRef(compose_path=compose, migration_id=migration_id))


def test_a_second_migration_is_refused_by_name(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], Stub],  # noqa: F811
    root: Path,
    tmp_path: Path,
) -> None:
    stub = agent_stub(start_agent(*agent_args(root, tmp_path / "state")).address)
    compose = str(root / "shop" / "docker-compose.yml")
    claim(stub, "m-one", compose_path=compose, datasets=("pool/shop",))

    message = refused(lambda: claim(stub, "m-two", role="target"))
    assert "project 'shop'" in message and "m-one (source" in message and "m-two" in message
    assert "m-one" in refused(lambda: stop(stub, root, "m-two"))
    assert "m-one" in refused(lambda: stop(stub, root, ""))
    snapshot = agent_pb2.SnapshotRequest(
        action=agent_pb2.SNAPSHOT_CREATE, datasets=["pool/shop/db"], name="s1", migration_id="m-two"
    )
    assert "dataset pool/shop/db" in refused(lambda: stub.Snapshot(snapshot))
    receive = agent_pb2.PrepareReceiveRequest(
        kind=agent_pb2.STREAM_ZFS, target_dataset="pool/shop", migration_id="m-two"
    )
    assert "m-one" in refused(lambda: stub.PrepareReceive(receive))
    deploy = agent_pb2.DeployRequest(
        project_name="shop",
        compose_dir=str(root / "elsewhere"),
        compose_text=COMPOSE,
        migration_id="m-two",
    )
    assert "m-one" in refused(lambda: stub.DeployStack(deploy))
    assert not (root / "elsewhere").exists()

    # The holder itself is not fenced: its stop gets past the claim (to the missing file).
    with pytest.raises(grpc.RpcError) as holder:
        stop(stub, root, "m-one")
    assert holder.value.code() == grpc.StatusCode.NOT_FOUND
    again = claim(stub, "m-one", compose_path=compose, datasets=("pool/shop",))
    assert again.migration_id == "m-one", "a repeated claim renews"


def test_a_claim_survives_an_agent_restart_and_release_frees_it(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], Stub],  # noqa: F811
    root: Path,
    tmp_path: Path,
) -> None:
    args = agent_args(root, tmp_path / "state")
    first = start_agent(*args)
    claim(agent_stub(first.address), "m-one")
    first.stop(signal.SIGKILL)

    stub = agent_stub(start_agent(*args).address)
    assert "m-one" in refused(lambda: claim(stub, "m-two"))
    released = stub.Release(agent_pb2.ReleaseRequest(migration_id="m-one"))
    assert not released.deploy_live, "m-one deployed nothing here"
    assert claim(stub, "m-two").migration_id == "m-two"


def test_a_claim_expires_after_its_ttl(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], Stub],  # noqa: F811
    root: Path,
    tmp_path: Path,
) -> None:
    stub = agent_stub(start_agent(*agent_args(root, tmp_path / "state")).address)
    grant = claim(stub, "m-one", ttl=1)
    assert "m-one" in refused(lambda: claim(stub, "m-two"))
    while time.time() <= grant.expires_unix:
        time.sleep(0.2)
    assert claim(stub, "m-two").migration_id == "m-two"


def test_a_claim_needs_a_valid_migration_id_and_role(
    start_agent: Callable[..., AgentProcess],
    agent_stub: Callable[[str], Stub],  # noqa: F811
    root: Path,
    tmp_path: Path,
) -> None:
    stub = agent_stub(start_agent(*agent_args(root, tmp_path / "state")).address)
    for migration_id, role in (("", "source"), ("bad id", "source"), ("m-1", "owner")):
        with pytest.raises(grpc.RpcError) as error:
            claim(stub, migration_id, role=role)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
