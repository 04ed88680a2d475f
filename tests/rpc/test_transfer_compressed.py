"""Compressed agent-to-agent zfs streams between two real agents on real zfs-fuse pools:
the stream arrives byte-identical, a corrupted compressed chunk is refused with nothing
received, and ``auto`` sends random data uncompressed (the transfer result says so)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
import zstandard
from conftest import AgentProcess, Pool
from test_transfer_zfs import datasets_under, exists, guid, mounted_tree, zfs
from transfer_helpers import ZFS, checksum, send_request, stub, ticket, tree, write_tree

from stackferry.api.agent.v1 import agent_pb2
from stackferry.controller.agents import AgentDialer
from stackferry.hostapi import TransferResult, ZfsTransfer

TAG_ZSTD = 2  # agent/compression.py's chunk tag, written here independently of its encoder


@pytest.fixture
def world(
    zfs_pool: Callable[..., Pool], start_agent: Callable[..., AgentProcess]
) -> tuple[Pool, Pool, AgentProcess, AgentProcess]:
    src, dst = zfs_pool("src"), zfs_pool("dst")
    zfs("create", f"{src.name}/app")
    source = start_agent("--insecure", "--allowed-dataset-root", src.name)
    target = start_agent("--insecure", "--allowed-dataset-root", f"{dst.name}/apps")
    return src, dst, source, target


def write_logs(path: Path, lines: int = 80_000) -> None:
    with path.open("wb") as out:
        for i in range(lines):
            out.write(b"2026-12-01T22:%02d:%02d INFO GET /items/%d 200\n" % (i % 60, i % 60, i))


def push(
    source: AgentProcess, target: AgentProcess, snapshot: str, target_ds: str, compression: str
) -> agent_pb2.TransferResult:
    request = send_request(snapshot, target.address, target_ds, ticket(target, target_ds))
    request.compression = compression
    request.zfs_compressed = True  # zfs-fuse has no send -c: the agent sends the plain stream
    return list(stub(source.address).SendStream(request))[-1].done


@pytest.mark.parametrize("compression", ["zstd", "lz4", "auto"])
def test_a_compressed_stream_arrives_byte_identical(
    world: tuple[Pool, Pool, AgentProcess, AgentProcess], tmp_path: Path, compression: str
) -> None:
    src, dst, source, target = world
    live = src.mountpoint / "app"
    write_logs(live / "access.log")
    write_tree(live, 256 << 10)
    zfs("snapshot", f"{src.name}/app@s1")
    target_ds = f"{dst.name}/apps/app"
    done = push(source, target, f"{src.name}/app@s1", target_ds, compression)
    assert done.received_snapshot == f"{target_ds}@s1"
    assert guid(f"{target_ds}@s1") == guid(f"{src.name}/app@s1")
    assert mounted_tree(target_ds, tmp_path / "cmp") == tree(live)
    assert done.wire_bytes < done.bytes / 2
    assert compression == "auto" or done.compression == compression


def test_auto_sends_random_data_uncompressed(
    world: tuple[Pool, Pool, AgentProcess, AgentProcess],
) -> None:
    src, dst, source, target = world
    (src.mountpoint / "app" / "random.bin").write_bytes(os.urandom(6 << 20))
    zfs("snapshot", f"{src.name}/app@s1")
    done = push(source, target, f"{src.name}/app@s1", f"{dst.name}/apps/app", "auto")
    assert done.compression == "none"
    assert done.bytes < done.wire_bytes < done.bytes + 64  # one tag byte per chunk


def zfs_stream(source: AgentProcess, snapshot: str) -> bytes:
    """The snapshot's plain stream, exported by the source agent (no peer)."""
    raw = bytearray()
    for event in stub(source.address).SendStream(
        agent_pb2.SendRequest(kind=ZFS, snapshot=snapshot)
    ):
        if event.HasField("chunk"):
            raw += event.chunk
    return bytes(raw)


def test_a_corrupted_compressed_chunk_is_refused_with_nothing_received(
    world: tuple[Pool, Pool, AgentProcess, AgentProcess],
) -> None:
    src, dst, source, target = world
    write_logs(src.mountpoint / "app" / "access.log")
    zfs("snapshot", f"{src.name}/app@s1")
    raw = zfs_stream(source, f"{src.name}/app@s1")
    target_ds = f"{dst.name}/apps/app"
    compressor = zstandard.ZstdCompressor()
    chunks = [
        bytes([TAG_ZSTD]) + compressor.compress(raw[i : i + (1 << 20)])
        for i in range(0, len(raw), 1 << 20)
    ]
    bad = bytearray(chunks[0])
    bad[len(bad) // 2] ^= 0x55
    chunks[0] = bytes(bad)
    header = agent_pb2.ReceiveHeader(
        kind=ZFS, ticket=ticket(target, target_ds), target_dataset=target_ds, compression="zstd"
    )
    messages = [
        agent_pb2.ReceiveMessage(header=header),
        *(agent_pb2.ReceiveMessage(chunk=c) for c in chunks),
        agent_pb2.ReceiveMessage(
            trailer=agent_pb2.ReceiveTrailer(bytes=len(raw), checksum=checksum(raw))
        ),
    ]
    with pytest.raises(grpc.RpcError) as refused:
        stub(target.address).ReceiveStream(iter(messages))
    assert refused.value.code() == grpc.StatusCode.DATA_LOSS
    assert "corrupted" in (refused.value.details() or "")
    assert not exists(target_ds)
    assert datasets_under(dst.name) == [dst.name]


def test_an_unknown_compression_is_refused_before_anything_runs(
    world: tuple[Pool, Pool, AgentProcess, AgentProcess],
) -> None:
    src, dst, source, target = world
    zfs("snapshot", f"{src.name}/app@s1")
    with pytest.raises(grpc.RpcError) as refused:
        push(source, target, f"{src.name}/app@s1", f"{dst.name}/apps/app", "gzip")
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "gzip" in (refused.value.details() or "")
    assert subprocess.run(["zfs", "list", f"{dst.name}/apps/app"], capture_output=True).returncode


def test_the_controllers_client_carries_the_compression_and_reads_the_result(
    world: tuple[Pool, Pool, AgentProcess, AgentProcess], tmp_path: Path
) -> None:
    """What the engine's send step does: push_zfs with the migration's compression."""
    src, dst, source, target = world
    live = src.mountpoint / "app"
    write_logs(live / "access.log")
    zfs("snapshot", f"{src.name}/app@s1")
    dialer = AgentDialer()
    sender, receiver = dialer.dial(source.address), dialer.dial(target.address)
    assert "zstd" in receiver.info().compressions
    target_ds = f"{dst.name}/apps/app"
    transfer = ZfsTransfer(f"{src.name}/app@s1", target_ds, compression="zstd")
    results = [e for e in sender.push_zfs(transfer, receiver) if isinstance(e, TransferResult)]
    assert [r.compression for r in results] == ["zstd"]
    assert results[0].wire_bytes < results[0].bytes / 2
    assert mounted_tree(target_ds, tmp_path / "cmp") == tree(live)
