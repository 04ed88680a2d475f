"""Resumable agent-to-agent zfs streams (OpenZFS `receive -s` / `send -t`), between two real
agent processes whose `zfs` is the FAKE OpenZFS of tests/fakes (zfs-fuse cannot resume).

A stream cut in the middle (bandwidth-limited, then cancelled) leaves the target's partial
state and its receive_resume_token; a SendStream with that token sends the rest and the
target ends up with the source's snapshot (same guid, same files).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from conftest import AgentProcess
from fakes.fake_zfs_host import FakeZfsHost
from transfer_helpers import ZFS, stub, wait_until

from stackferry.api.agent.v1 import agent_pb2

SIZE = 6 << 20
LIMIT = 2 << 20  # bytes/s: the stream is still running when the test cuts it


@pytest.fixture
def hosts(
    tmp_path: Path, start_agent: Callable[..., AgentProcess]
) -> tuple[FakeZfsHost, FakeZfsHost, AgentProcess, AgentProcess]:
    src, dst = FakeZfsHost.create(tmp_path / "src"), FakeZfsHost.create(tmp_path / "dst")
    src.zfs("create", "src")
    src.zfs("create", "src/data")
    src.write("src/data", "big.bin", os.urandom(SIZE))
    src.write("src/data", "sub/hello.txt", b"hello\n")
    src.zfs("snapshot", "src/data@s1")
    dst.zfs("create", "dst")
    source = start_agent(
        "--insecure", "--allowed-dataset-root", "src", "--zfs-binary", str(src.binary)
    )
    target = start_agent(
        "--insecure", "--allowed-dataset-root", "dst/apps", "--zfs-binary", str(dst.binary)
    )
    return src, dst, source, target


def prepare(target: AgentProcess, dataset: str, base_guid: str = "", resume: bool = False) -> str:
    request = agent_pb2.PrepareReceiveRequest(
        kind=ZFS, target_dataset=dataset, base_snapshot_guid=base_guid, resume=resume
    )
    return str(stub(target.address).PrepareReceive(request).ticket)


def push(
    source: AgentProcess,
    target: AgentProcess,
    snapshot: str,
    dataset: str,
    *,
    base: str = "",
    base_guid: str = "",
    token: str = "",
    limit: int = 0,
) -> Any:
    ticket = prepare(target, dataset, base_guid, resume=bool(token))
    header = agent_pb2.ReceiveHeader(
        kind=ZFS,
        ticket=ticket,
        target_dataset=dataset,
        base_snapshot_guid=base_guid,
        resumable=True,
        resume=bool(token),
    )
    request = agent_pb2.SendRequest(
        kind=ZFS,
        snapshot=snapshot,
        base_snapshot=base,
        peer=target.address,
        header=header,
        bandwidth_limit_bytes_per_second=limit,
        resume_token=token,
    )
    return stub(source.address).SendStream(request)


def token_of(target: AgentProcess, dataset: str) -> str:
    reply = stub(target.address).GetDatasets(agent_pb2.GetDatasetsRequest(datasets=[dataset]))
    return str(reply.datasets[0].receive_resume_token)


def cut_after(call: Any, nbytes: int) -> int:
    """Cancels the stream once the source reports nbytes sent; returns what it reported."""
    for event in call:
        if event.WhichOneof("event") == "progress" and event.progress.bytes_done >= nbytes:
            call.cancel()
            return int(event.progress.bytes_done)
    raise AssertionError("the stream finished before it could be cut")


def finish(call: Any) -> tuple[list[agent_pb2.TransferProgress], agent_pb2.TransferResult]:
    progress, done = [], None
    for event in call:
        if event.WhichOneof("event") == "progress":
            progress.append(event.progress)
        elif event.WhichOneof("event") == "done":
            done = event.done
    assert done is not None
    return progress, done


def test_cut_full_stream_resumes_from_the_token(
    hosts: tuple[FakeZfsHost, FakeZfsHost, AgentProcess, AgentProcess],
) -> None:
    src, dst, source, target = hosts
    dataset = "dst/apps/data"
    full = stub(source.address).EstimateSend(agent_pb2.EstimateSendRequest(snapshot="src/data@s1"))

    cut_after(push(source, target, "src/data@s1", dataset, limit=LIMIT), 2 << 20)
    wait_until(lambda: token_of(target, dataset) != "", what="a resume token on the target")
    token = token_of(target, dataset)
    assert dst.exists(dataset), "the partial dataset is kept for the resume"
    assert "@" not in dst.zfs("get", "-Hp", "-d", "1", "-o", "name,property,value", "guid", dataset)

    left = stub(source.address).EstimateSend(
        agent_pb2.EstimateSendRequest(snapshot="src/data@s1", resume_token=token)
    )
    assert left.method == "zfs send -nvP -t"
    assert 0 < left.bytes < full.bytes
    # The resume starts exactly after what the target kept (up to the header line, whose
    # length differs between the two streams). What the target kept is not bounded by the
    # progress the client read before its cancel: the source goes on sending until the cancel
    # reaches it, which on a loaded machine is a good part of a second at LIMIT (CI saw 3 MiB
    # kept after a cut at 2 MiB), so the bound is the whole stream.
    kept = sum(p.stat().st_size for p in (dst.state / "partial").glob("*.part"))
    assert 0 < kept < full.bytes
    assert abs((full.bytes - left.bytes) - kept) < 64, "resumes where the target stopped"

    progress, done = finish(push(source, target, "src/data@s1", dataset, token=token))
    assert done.bytes == left.bytes
    assert progress and all(p.bytes_expected == left.bytes for p in progress)
    assert done.received_snapshot == f"{dataset}@s1"
    assert done.received_guid == src.get("src/data@s1", "guid")
    assert token_of(target, dataset) == ""
    assert dst.tree(dataset) == src.tree("src/data")


def test_cut_incremental_stream_resumes_and_keeps_the_base(
    hosts: tuple[FakeZfsHost, FakeZfsHost, AgentProcess, AgentProcess],
) -> None:
    src, dst, source, target = hosts
    dataset = "dst/apps/data"
    finish(push(source, target, "src/data@s1", dataset))
    src.write("src/data", "big2.bin", os.urandom(SIZE))
    src.zfs("snapshot", "src/data@s2")
    base_guid = src.get("src/data@s1", "guid")

    call = push(
        source, target, "src/data@s2", dataset, base="src/data@s1", base_guid=base_guid, limit=LIMIT
    )
    cut_after(call, 2 << 20)
    wait_until(lambda: token_of(target, dataset) != "", what="a resume token on the target")
    assert dst.get(f"{dataset}@s1", "guid") == base_guid
    assert not dst.exists(f"{dataset}@s2")

    token = token_of(target, dataset)
    _, done = finish(push(source, target, "src/data@s2", dataset, token=token))
    assert done.received_guid == src.get("src/data@s2", "guid")
    assert dst.tree(dataset) == src.tree("src/data")


def test_partial_state_refusals_and_discard(
    hosts: tuple[FakeZfsHost, FakeZfsHost, AgentProcess, AgentProcess],
) -> None:
    src, dst, source, target = hosts
    dataset = "dst/apps/data"
    with pytest.raises(grpc.RpcError) as nothing:
        prepare(target, dataset, resume=True)
    assert nothing.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    cut_after(push(source, target, "src/data@s1", dataset, limit=LIMIT), 1 << 20)
    wait_until(lambda: token_of(target, dataset) != "", what="a resume token on the target")
    token = token_of(target, dataset)

    with pytest.raises(grpc.RpcError) as fresh:
        prepare(target, dataset)
    assert fresh.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "partial receive" in (fresh.value.details() or "")

    src.zfs("snapshot", "src/data@other")
    with pytest.raises(grpc.RpcError) as wrong:
        finish(push(source, target, "src/data@other", dataset, token=token))
    assert wrong.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert token_of(target, dataset) == token, "a refused resume leaves the partial state"

    request = agent_pb2.PrepareReceiveRequest(
        kind=ZFS, target_dataset=dataset, allow_overwrite=True
    )
    ticket = stub(target.address).PrepareReceive(request).ticket
    header = agent_pb2.ReceiveHeader(
        kind=ZFS, ticket=ticket, target_dataset=dataset, allow_overwrite=True
    )
    send = agent_pb2.SendRequest(
        kind=ZFS, snapshot="src/data@s1", peer=target.address, header=header
    )
    _, done = finish(stub(source.address).SendStream(send))
    assert done.received_guid == src.get("src/data@s1", "guid")
    assert token_of(target, dataset) == ""
    assert dst.tree(dataset) == src.tree("src/data")
