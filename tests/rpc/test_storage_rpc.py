"""GetInfo, Snapshot, GetDatasets, EstimateSend against a real agent process on a zfs-fuse pool."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import grpc
import pytest

from stackferry.api.agent.v1 import agent_pb2, agent_pb2_grpc

CREATE, LIST, DESTROY = (
    agent_pb2.SNAPSHOT_CREATE,
    agent_pb2.SNAPSHOT_LIST,
    agent_pb2.SNAPSHOT_DESTROY,
)
HOLD, RELEASE = agent_pb2.SNAPSHOT_HOLD, agent_pb2.SNAPSHOT_RELEASE


# The parts of tests/conftest.py's Pool and AgentProcess used here: `from conftest import`
# would pick tests/contract/conftest.py when both folders run in one session.
class Pool(Protocol):
    name: str
    mountpoint: Path


class AgentProcess(Protocol):
    address: str


def zfs(*args: str) -> str:
    return subprocess.run(["zfs", *args], check=True, capture_output=True, text=True).stdout


def prop(name: str, key: str) -> str:
    return zfs("get", "-Hp", "-o", "value", key, name).strip()


@dataclass
class World:
    pool: Pool
    apps: str  # the agent's one allowed dataset root
    stub: agent_pb2_grpc.AgentStub


@pytest.fixture
def world(
    zfs_pool: Callable[..., Pool], start_agent: Callable[..., AgentProcess]
) -> Iterator[World]:
    pool = zfs_pool("rpc")
    apps = f"{pool.name}/apps"
    for ds in (apps, f"{apps}/web", f"{apps}/db", f"{pool.name}/other"):
        zfs("create", ds)
    agent = start_agent("--insecure", "--allowed-dataset-root", apps)
    with grpc.insecure_channel(agent.address) as channel:
        yield World(pool, apps, agent_pb2_grpc.AgentStub(channel))


def code_of(call: Callable[[], object]) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as failure:
        call()
    return failure.value.code()  # type: ignore[no-any-return, attr-defined]


def snapshot(w: World, action: int, datasets: list[str], name: str, **kw: object) -> object:
    request = agent_pb2.SnapshotRequest(action=action, datasets=datasets, name=name, **kw)  # type: ignore[arg-type]
    return w.stub.Snapshot(request, timeout=60)


def test_get_info_reports_detected_zfs_features(world: World) -> None:
    info = world.stub.GetInfo(agent_pb2.GetInfoRequest(), timeout=30)
    assert info.storage_backend == "zfs"
    assert "23" in info.zfs_version
    assert info.storage_features["holds"] is True
    assert info.storage_features["send_estimate"] is False
    assert info.storage_features["receive_unmounted"] is False
    assert list(info.allowed_dataset_roots) == [world.apps]
    assert info.api_version == "stackferry.api.agent.v1"
    assert info.version and info.hostname


def test_snapshot_create_list_hold_release_destroy(world: World) -> None:
    web, db = f"{world.apps}/web", f"{world.apps}/db"
    made = world.stub.Snapshot(
        agent_pb2.SnapshotRequest(action=CREATE, datasets=[web, db], name="sf-1"), timeout=60
    )
    assert [(s.dataset, s.name) for s in made.snapshots] == [(web, "sf-1"), (db, "sf-1")]
    assert [s.guid for s in made.snapshots] == [
        prop(f"{web}@sf-1", "guid"),
        prop(f"{db}@sf-1", "guid"),
    ]
    assert prop(f"{web}@sf-1", "createtxg") == prop(f"{db}@sf-1", "createtxg")

    listed = world.stub.Snapshot(
        agent_pb2.SnapshotRequest(action=LIST, datasets=[world.apps], recursive=True), timeout=60
    )
    assert sorted(f"{s.dataset}@{s.name}" for s in listed.snapshots) == sorted(
        [f"{web}@sf-1", f"{db}@sf-1"]
    )
    assert all(s.created_unix > 0 and s.referenced_bytes > 0 for s in listed.snapshots)

    hold = agent_pb2.SnapshotRequest(action=HOLD, datasets=[web], name="sf-1", hold_tag="sf-t1")
    world.stub.Snapshot(hold, timeout=60)
    destroy = agent_pb2.SnapshotRequest(action=DESTROY, datasets=[web], name="sf-1")
    assert code_of(lambda: world.stub.Snapshot(destroy, timeout=60)) == (
        grpc.StatusCode.FAILED_PRECONDITION
    )
    release = agent_pb2.SnapshotRequest(
        action=RELEASE, datasets=[web], name="sf-1", hold_tag="sf-t1"
    )
    world.stub.Snapshot(release, timeout=60)
    world.stub.Snapshot(destroy, timeout=60)
    left = world.stub.Snapshot(agent_pb2.SnapshotRequest(action=LIST, datasets=[web]), timeout=60)
    assert list(left.snapshots) == []


def test_get_datasets_and_estimate(world: World) -> None:
    web = f"{world.apps}/web"
    (world.pool.mountpoint / "apps" / "web" / "blob").write_bytes(b"\x07" * 2_000_000)
    reply = world.stub.GetDatasets(
        agent_pb2.GetDatasetsRequest(datasets=[web, f"{world.apps}/nope"]), timeout=60
    )
    found, missing = reply.datasets
    assert found.exists and found.mounted and found.guid == prop(web, "guid")
    assert found.mountpoint == str(world.pool.mountpoint / "apps" / "web")
    assert not missing.exists and missing.name == f"{world.apps}/nope"

    world.stub.Snapshot(agent_pb2.SnapshotRequest(action=CREATE, datasets=[web], name="s1"))
    (world.pool.mountpoint / "apps" / "web" / "more").write_bytes(b"\x08" * 1_000_000)
    world.stub.Snapshot(agent_pb2.SnapshotRequest(action=CREATE, datasets=[web], name="s2"))
    full = world.stub.EstimateSend(agent_pb2.EstimateSendRequest(snapshot=f"{web}@s1"))
    assert full.method == "properties"
    assert full.bytes == int(prop(f"{web}@s1", "referenced")) >= 2_000_000
    incremental = world.stub.EstimateSend(
        agent_pb2.EstimateSendRequest(snapshot=f"{web}@s2", base_snapshot="@s1")
    )
    assert incremental.bytes > 0


def test_missing_datasets_and_snapshots_are_not_found(world: World) -> None:
    web, nope = f"{world.apps}/web", f"{world.apps}/nope"
    calls: list[Callable[[], object]] = [
        lambda: snapshot(world, CREATE, [nope], "s1"),
        lambda: snapshot(world, LIST, [nope], ""),
        lambda: snapshot(world, DESTROY, [web], "never"),
        lambda: snapshot(world, HOLD, [web], "never", hold_tag="t"),
        lambda: world.stub.EstimateSend(agent_pb2.EstimateSendRequest(snapshot=f"{web}@never")),
        lambda: world.stub.EstimateSend(agent_pb2.EstimateSendRequest(snapshot=f"{nope}@s")),
    ]
    assert [code_of(call) for call in calls] == [grpc.StatusCode.NOT_FOUND] * len(calls)


@pytest.mark.parametrize("bad", ["-o", "a;b", "x@@y", "..", "apps/../other", "a b", ""])
def test_bad_names_are_invalid_arguments(world: World, bad: str) -> None:
    web = f"{world.apps}/web"
    dataset = bad if bad == "" else f"{world.apps}/{bad}" if bad != "-o" else bad
    calls: list[Callable[[], object]] = [
        lambda: snapshot(world, CREATE, [dataset], "s1"),
        lambda: world.stub.GetDatasets(agent_pb2.GetDatasetsRequest(datasets=[dataset])),
        lambda: world.stub.EstimateSend(agent_pb2.EstimateSendRequest(snapshot=f"{web}@{bad}")),
    ]
    if bad:
        calls.append(lambda: snapshot(world, CREATE, [web], bad))
    assert {code_of(call) for call in calls} == {grpc.StatusCode.INVALID_ARGUMENT}


def test_requests_missing_their_parts_are_invalid_arguments(world: World) -> None:
    web = f"{world.apps}/web"
    calls: list[Callable[[], object]] = [
        lambda: snapshot(world, agent_pb2.SNAPSHOT_ACTION_UNSPECIFIED, [web], "s1"),
        lambda: snapshot(world, CREATE, [], "s1"),
        lambda: snapshot(world, CREATE, [web], ""),
        lambda: snapshot(world, HOLD, [web], "s1"),
        lambda: world.stub.EstimateSend(
            agent_pb2.EstimateSendRequest(snapshot=f"{web}@s2", base_snapshot=f"{world.apps}/db@s1")
        ),
    ]
    assert [code_of(call) for call in calls] == [grpc.StatusCode.INVALID_ARGUMENT] * len(calls)


def test_datasets_outside_the_allowed_root_are_denied(world: World) -> None:
    other = f"{world.pool.name}/other"
    calls: list[Callable[[], object]] = [
        lambda: snapshot(world, CREATE, [other], "s1"),
        lambda: snapshot(world, CREATE, [world.pool.name], "s1"),
        lambda: snapshot(world, LIST, [f"{world.apps}x"], ""),
        lambda: world.stub.GetDatasets(agent_pb2.GetDatasetsRequest(datasets=[other])),
        lambda: world.stub.EstimateSend(agent_pb2.EstimateSendRequest(snapshot=f"{other}@s1")),
    ]
    assert [code_of(call) for call in calls] == [grpc.StatusCode.PERMISSION_DENIED] * len(calls)
    assert "@s1" not in zfs("list", "-H", "-t", "snapshot", "-o", "name")


def test_get_info_answers_without_a_docker_engine(
    zfs_available: None, start_agent: Callable[..., AgentProcess], tmp_path: Path
) -> None:
    agent = start_agent(
        "--insecure",
        "--docker-host",
        f"unix://{tmp_path}/no-engine.sock",
        "--allowed-dataset-root",
        "p/x",
    )
    with grpc.insecure_channel(agent.address) as channel:
        info = agent_pb2_grpc.AgentStub(channel).GetInfo(agent_pb2.GetInfoRequest(), timeout=60)
    assert info.storage_backend == "zfs" and info.storage_features["holds"] is True
    assert info.docker_version == ""
