"""Agent-to-agent zfs streams between two real agent processes on real zfs-fuse pools.

A source that fails mid-send is tested with the directory backend (test_transfer.py, tar
killed): under zfs-fuse the daemon, not the `zfs send` client, writes the stream, so killing
the client does not stop it, and destroying the partial target while the daemon was still
finishing that receive deadlocked zfs-fuse on this machine (every FUSE request hung).
"""

from __future__ import annotations

import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from conftest import AgentProcess, Pool
from transfer_helpers import (
    ZFS,
    checksum,
    children_named,
    send_request,
    stub,
    ticket,
    tree,
    wait_until,
    write_tree,
)

from stackferry.api.agent.v1 import agent_pb2


def zfs(*args: str) -> str:
    return subprocess.run(["zfs", *args], check=True, capture_output=True, text=True).stdout


def guid(snapshot: str) -> str:
    return zfs("get", "-H", "-p", "-o", "value", "guid", snapshot).strip()


def exists(name: str) -> bool:
    return subprocess.run(["zfs", "list", "-t", "all", name], capture_output=True).returncode == 0


def datasets_under(name: str) -> list[str]:
    out = subprocess.run(
        ["zfs", "list", "-H", "-t", "all", "-o", "name", "-r", name], capture_output=True, text=True
    )
    return out.stdout.split()


def mounted_tree(dataset: str, where: Path) -> dict[str, bytes | str]:
    """The files of a received dataset, mounted read-only at ``where`` for the comparison
    (read-only: atime updates would count as a modification and refuse the next delta)."""
    zfs("set", "readonly=on", dataset)
    zfs("set", f"mountpoint={where}", dataset)
    if zfs("get", "-H", "-o", "value", "mounted", dataset).strip() != "yes":
        zfs("mount", dataset)
    try:
        return tree(where)
    finally:
        zfs("umount", dataset)


@pytest.fixture
def world(
    zfs_pool: Callable[..., Pool], start_agent: Callable[..., AgentProcess]
) -> tuple[Pool, Pool, AgentProcess, AgentProcess]:
    src, dst = zfs_pool("src"), zfs_pool("dst")
    zfs("create", f"{src.name}/app")
    source = start_agent("--insecure", "--allowed-dataset-root", src.name)
    target = start_agent("--insecure", "--allowed-dataset-root", f"{dst.name}/apps")
    return src, dst, source, target


def zfs_children(agent: AgentProcess) -> list[int]:
    return children_named(agent.pid, "zfs")


def test_full_then_incremental_send_is_byte_identical(
    world: tuple[Pool, Pool, AgentProcess, AgentProcess], tmp_path: Path
) -> None:
    src, dst, source, target = world
    live = src.mountpoint / "app"
    target_ds = f"{dst.name}/apps/app"
    write_tree(live, 2 << 20, seed=1)
    zfs("snapshot", f"{src.name}/app@s1")
    at_s1 = tree(live)
    done = list(
        stub(source.address).SendStream(
            send_request(f"{src.name}/app@s1", target.address, target_ds, ticket(target, target_ds))
        )
    )[-1].done
    assert done.received_snapshot == f"{target_ds}@s1"
    assert guid(f"{target_ds}@s1") == guid(f"{src.name}/app@s1")
    assert mounted_tree(target_ds, tmp_path / "cmp1") == at_s1

    write_tree(live, 1 << 20, seed=2)
    (live / "hello.txt").write_text("changed\n")
    (live / "new.txt").write_text("new file\n")
    zfs("snapshot", f"{src.name}/app@s2")
    at_s2 = tree(live)
    base_guid = guid(f"{src.name}/app@s1")
    request = send_request(
        f"{src.name}/app@s2",
        target.address,
        target_ds,
        ticket(target, target_ds, base_guid=base_guid),
        base=f"{src.name}/app@s1",
        base_guid=base_guid,
    )
    done = list(stub(source.address).SendStream(request))[-1].done
    assert done.received_snapshot == f"{target_ds}@s2"
    assert mounted_tree(target_ds, tmp_path / "cmp2") == at_s2
    assert not zfs_children(source) and not zfs_children(target)


def test_export_without_peer_is_a_zfs_stream(
    world: tuple[Pool, Pool, AgentProcess, AgentProcess], tmp_path: Path
) -> None:
    src, dst, source, _ = world
    write_tree(src.mountpoint / "app", 1 << 20)
    zfs("snapshot", f"{src.name}/app@s1")
    raw = bytearray()
    done = None
    for event in stub(source.address).SendStream(
        agent_pb2.SendRequest(kind=ZFS, snapshot=f"{src.name}/app@s1")
    ):
        if event.HasField("chunk"):
            raw += event.chunk
        else:
            done = event.done
    assert done is not None and done.checksum == checksum(raw)
    subprocess.run(["zfs", "receive", f"{dst.name}/exported"], input=bytes(raw), check=True)
    assert mounted_tree(f"{dst.name}/exported", tmp_path / "cmp") == tree(src.mountpoint / "app")


def slow_send(
    world: tuple[Pool, Pool, AgentProcess, AgentProcess],
) -> tuple[grpc.Future, list[object], str]:  # type: ignore[type-arg]
    """A send of ~24 MB paced at 2 MB/s; returns the call, its events and the target."""
    src, dst, source, target = world
    live = src.mountpoint / "app"
    write_tree(live, 24 << 20)
    zfs("snapshot", f"{src.name}/app@s1")
    target_ds = f"{dst.name}/apps/app"
    request = send_request(
        f"{src.name}/app@s1", target.address, target_ds, ticket(target, target_ds), limit=2_000_000
    )
    call = stub(source.address).SendStream(request)
    seen: list[object] = []

    def consume() -> None:
        try:
            seen.extend(call)
        except grpc.RpcError as exc:
            seen.append(exc)

    threading.Thread(target=consume, daemon=True).start()
    wait_until(lambda: zfs_children(source) and zfs_children(target), what="send and receive")
    wait_until(lambda: len(seen) >= 1, what="a first progress event")
    return call, seen, target_ds


def test_cancel_mid_stream_kills_both_ends_and_leaves_nothing(
    world: tuple[Pool, Pool, AgentProcess, AgentProcess],
) -> None:
    _, dst, source, target = world
    call, seen, target_ds = slow_send(world)
    call.cancel()
    wait_until(lambda: not zfs_children(source), what="zfs send reaped")
    wait_until(lambda: not zfs_children(target), what="zfs receive reaped")
    wait_until(lambda: not exists(target_ds), what="no partial dataset")
    assert datasets_under(dst.name) in ([dst.name], [dst.name, f"{dst.name}/apps"])


def test_sigterm_on_the_target_mid_stream_leaves_nothing(
    world: tuple[Pool, Pool, AgentProcess, AgentProcess],
) -> None:
    _, _, source, target = world
    _, seen, target_ds = slow_send(world)
    receiving = zfs_children(target)
    assert target.stop(signal.SIGTERM, timeout=20) == 0
    assert all(not Path(f"/proc/{pid}").exists() for pid in receiving)
    wait_until(lambda: seen and isinstance(seen[-1], grpc.RpcError), what="the send to fail")
    wait_until(lambda: not zfs_children(source), what="zfs send reaped")
    assert not exists(target_ds)


def test_an_existing_target_and_a_wrong_base_are_refused(
    world: tuple[Pool, Pool, AgentProcess, AgentProcess],
) -> None:
    _, dst, _, target = world
    zfs("create", "-p", f"{dst.name}/apps/taken")
    client = stub(target.address)
    with pytest.raises(grpc.RpcError) as err:
        client.PrepareReceive(
            agent_pb2.PrepareReceiveRequest(kind=ZFS, target_dataset=f"{dst.name}/apps/taken")
        )
    assert err.value.code() in (grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.FAILED_PRECONDITION)
    with pytest.raises(grpc.RpcError) as err:
        client.PrepareReceive(
            agent_pb2.PrepareReceiveRequest(
                kind=ZFS, target_dataset=f"{dst.name}/apps/taken", base_snapshot_guid="12345"
            )
        )
    assert err.value.code() in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND)
    with pytest.raises(grpc.RpcError) as err:
        client.PrepareReceive(agent_pb2.PrepareReceiveRequest(kind=ZFS, target_dataset=dst.name))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
