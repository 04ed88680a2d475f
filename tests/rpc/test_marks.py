"""Ownership on the target, on real zfs-fuse pools through a real agent: a received dataset
carries its migration's mark, a second receive into the same target cannot race the first
(the loser's undo once destroyed the winner's freshly received dataset), and Discard removes
only what carries the migration's mark."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable, Iterator

import grpc
import pytest
from conftest import AgentProcess, Pool
from transfer_helpers import ZFS, checksum, children_named, stub, wait_until

from stackferry.api.agent.v1 import agent_pb2

CHUNK = 64 * 1024


def zfs(*args: str) -> str:
    return subprocess.run(["zfs", *args], check=True, capture_output=True, text=True).stdout


def exists(name: str) -> bool:
    return subprocess.run(["zfs", "list", "-t", "all", name], capture_output=True).returncode == 0


def mark(dataset: str) -> str:
    return zfs("get", "-H", "-o", "value", "stackferry:migration", dataset).strip()


def guid(name: str) -> str:
    return zfs("get", "-H", "-p", "-o", "value", "guid", name).strip()


@pytest.fixture
def world(
    zfs_pool: Callable[..., Pool], start_agent: Callable[..., AgentProcess]
) -> tuple[Pool, Pool, AgentProcess]:
    src, dst = zfs_pool("src"), zfs_pool("dst")
    zfs("create", f"{src.name}/app")
    (src.mountpoint / "app" / "data.bin").write_bytes(b"payload" * 200_000)
    zfs("snapshot", f"{src.name}/app@s1")
    target = start_agent("--insecure", "--allowed-dataset-root", f"{dst.name}/apps")
    return src, dst, target


def stream_of(snapshot: str) -> bytes:
    return subprocess.run(["zfs", "send", snapshot], check=True, capture_output=True).stdout


def prepare(target: AgentProcess, dataset: str, migration_id: str) -> str:
    request = agent_pb2.PrepareReceiveRequest(
        kind=ZFS, target_dataset=dataset, migration_id=migration_id
    )
    return str(stub(target.address).PrepareReceive(request).ticket)


def messages(
    ticket: str, dataset: str, data: bytes, hold: threading.Event | None = None
) -> Iterator[agent_pb2.ReceiveMessage]:
    """Header, chunks, trailer; with ``hold``, waits after the first chunk until it is set."""
    header = agent_pb2.ReceiveHeader(kind=ZFS, ticket=ticket, target_dataset=dataset)
    yield agent_pb2.ReceiveMessage(header=header)
    for i in range(0, len(data), CHUNK):
        yield agent_pb2.ReceiveMessage(chunk=data[i : i + CHUNK])
        if hold is not None and i == 0:
            hold.wait(60)
    trailer = agent_pb2.ReceiveTrailer(bytes=len(data), checksum=checksum(data))
    yield agent_pb2.ReceiveMessage(trailer=trailer)


def receive(target: AgentProcess, migration_id: str, dataset: str, data: bytes) -> None:
    ticket = prepare(target, dataset, migration_id)
    stub(target.address).ReceiveStream(messages(ticket, dataset, data))


def test_a_received_dataset_carries_its_migration_mark(
    world: tuple[Pool, Pool, AgentProcess],
) -> None:
    src, dst, target = world
    dataset = f"{dst.name}/apps/web/app"
    receive(target, "m-mark", dataset, stream_of(f"{src.name}/app@s1"))
    assert mark(dataset) == "m-mark"
    assert mark(f"{dst.name}/apps/web") == "m-mark", "the parent it created is marked too"


def test_a_second_receive_into_the_same_target_leaves_the_first_alone(
    world: tuple[Pool, Pool, AgentProcess],
) -> None:
    src, dst, target = world
    dataset = f"{dst.name}/apps/app"
    data = stream_of(f"{src.name}/app@s1")
    first_ticket = prepare(target, dataset, "m-winner")
    second_ticket = prepare(target, dataset, "m-loser")  # both see no dataset yet
    hold = threading.Event()
    outcome: dict[str, object] = {}

    def winner() -> None:
        try:
            outcome["reply"] = stub(target.address).ReceiveStream(
                messages(first_ticket, dataset, data, hold)
            )
        except grpc.RpcError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=winner)
    thread.start()
    try:
        wait_until(lambda: children_named(target.pid, "zfs"), what="the first zfs receive")
        with pytest.raises(grpc.RpcError) as refused:
            stub(target.address).ReceiveStream(messages(second_ticket, dataset, data))
    finally:
        hold.set()
        thread.join(120)
    assert refused.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "already running" in (refused.value.details() or "")
    assert "error" not in outcome, outcome.get("error")
    assert guid(f"{dataset}@s1") == guid(f"{src.name}/app@s1")
    assert mark(dataset) == "m-winner"

    # The loser retries after the winner finished: refused, and the winner's data stays.
    with pytest.raises(grpc.RpcError) as again:
        receive(target, "m-loser", dataset, data)
    assert again.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert guid(f"{dataset}@s1") == guid(f"{src.name}/app@s1")


def test_discard_removes_only_what_carries_the_migration_mark(
    world: tuple[Pool, Pool, AgentProcess],
) -> None:
    src, dst, target = world
    data = stream_of(f"{src.name}/app@s1")
    ours, theirs = f"{dst.name}/apps/new/ours", f"{dst.name}/apps/theirs"
    before = f"{dst.name}/apps/existing"
    zfs("create", "-p", before)  # there before the migration: never the migration's
    receive(target, "m-ours", ours, data)
    receive(target, "m-theirs", theirs, data)
    zfs("create", f"{dst.name}/apps/new/stranger")  # someone else's, below m-ours' parent

    client = stub(target.address)
    result = client.Discard(agent_pb2.DiscardRequest(migration_id="m-ours"))
    assert f"dataset {ours}" in result.removed
    assert not exists(ours)
    assert exists(theirs) and mark(theirs) == "m-theirs"
    assert exists(before)
    assert exists(f"{dst.name}/apps/new/stranger")
    kept = "\n".join(result.kept)
    assert f"dataset {dst.name}/apps/new" in kept and "stranger" in kept

    again = client.Discard(agent_pb2.DiscardRequest(migration_id="m-ours"))
    assert list(again.removed) == []
    assert list(again.kept) == list(result.kept), "a second Discard changes nothing"

    removed = client.Discard(agent_pb2.DiscardRequest(migration_id="m-theirs")).removed
    assert list(removed) == [f"dataset {theirs}"] and not exists(theirs)
