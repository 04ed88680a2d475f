"""The file mover refuses what it must and fails cleanly: a wrong ticket, paths outside the
roots, hostile names, a stream cut mid-pass, a cancel, a target that runs out of space. In
every case no half-written file is left at its name on the target."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from conftest import AgentProcess
from files_helpers import clients, push, start_pair
from transfer_helpers import children_named, stub, wait_until

from stackferry.agent.files.rsync_argv import PARTIAL_DIR
from stackferry.api.agent.v1 import agent_pb2
from stackferry.controller import errors
from stackferry.controller.agents import AgentFailed
from stackferry.hostapi import FileTransfer, FileTree, TransferProgress

FILES = agent_pb2.STREAM_FILES


def leftovers(root: Path) -> list[str]:
    """Partial directories and rsync temporary files (".NAME.XXXXXX") under root."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        found += [os.path.join(dirpath, d) for d in dirnames if d == PARTIAL_DIR]
        found += [os.path.join(dirpath, f) for f in filenames if f.startswith(".")]
    return found


def big_tree(root: Path, megabytes: int = 40) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "small.txt").write_text("small\n")
    (root / "big.bin").write_bytes(os.urandom(megabytes << 20))


def code_of(call: Callable[[], object]) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value.code()  # type: ignore[attr-defined, no-any-return]


@pytest.fixture
def pair(
    start_agent: Callable[..., AgentProcess], tmp_path: Path
) -> tuple[AgentProcess, AgentProcess]:
    return start_pair(start_agent, tmp_path / "a", tmp_path / "b")


def test_a_bad_ticket_and_paths_outside_the_roots_are_refused_and_nothing_is_written(
    pair: tuple[AgentProcess, AgentProcess], tmp_path: Path
) -> None:
    source, target = pair
    big_tree(tmp_path / "a" / "data", 1)
    dst = tmp_path / "b" / "data"
    header = agent_pb2.ReceiveHeader(
        kind=FILES, ticket="made-up", target_files=agent_pb2.FileTree(path=str(dst))
    )
    request = agent_pb2.SendRequest(
        kind=FILES,
        source_files=agent_pb2.FileTree(path=str(tmp_path / "a" / "data")),
        peer=target.address,
        header=header,
    )
    assert code_of(lambda: list(stub(source.address).SendStream(request))) == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    assert not dst.exists()

    def prepare(tree: agent_pb2.FileTree) -> object:
        request = agent_pb2.PrepareReceiveRequest(kind=FILES, target_files=tree)
        return stub(target.address).PrepareReceive(request)

    outside = agent_pb2.FileTree(path=str(tmp_path / "a" / "elsewhere"))
    assert code_of(lambda: prepare(outside)) == grpc.StatusCode.PERMISSION_DENIED
    dots = agent_pb2.FileTree(path=str(tmp_path / "b" / ".." / "a" / "x"))
    assert code_of(lambda: prepare(dots)) == grpc.StatusCode.INVALID_ARGUMENT
    for name in ("../../etc", "-rf", "a b", "x;rm"):
        hostile = functools.partial(prepare, agent_pb2.FileTree(volume=name))
        assert code_of(hostile) == grpc.StatusCode.INVALID_ARGUMENT
    both = agent_pb2.FileTree(path=str(dst), volume="v")
    assert code_of(lambda: prepare(both)) == grpc.StatusCode.INVALID_ARGUMENT
    manifest = agent_pb2.FileManifestRequest(tree=agent_pb2.FileTree(path="/etc"))
    assert code_of(lambda: stub(source.address).FileManifest(manifest)) == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    assert not (tmp_path / "a" / "elsewhere").exists()
    assert os.listdir(tmp_path / "b") == []


def test_a_non_empty_target_is_refused_without_allow_overwrite(
    pair: tuple[AgentProcess, AgentProcess], tmp_path: Path
) -> None:
    source, target = pair
    big_tree(tmp_path / "a" / "data", 1)
    (tmp_path / "b" / "data").mkdir(parents=True)
    (tmp_path / "b" / "data" / "precious").write_text("keep me\n")
    a, b, dialer = clients(source, target)
    here, there = (
        FileTree(path=str(tmp_path / "a" / "data")),
        FileTree(path=str(tmp_path / "b" / "data")),
    )
    try:
        with pytest.raises(errors.AlreadyExists, match="not empty"):
            push(a, b, here, there)
        assert (tmp_path / "b" / "data" / "precious").read_text() == "keep me\n"
        push(a, b, here, there, allow_overwrite=True)
        assert not (tmp_path / "b" / "data" / "precious").exists()
    finally:
        dialer.close()


def first_progress(events: Iterator[object], at_least: int) -> None:
    for event in events:
        if isinstance(event, TransferProgress) and event.bytes_done >= at_least:
            return
    raise AssertionError("the pass ended before it was under way")


def test_a_cut_stream_fails_and_leaves_no_partial_file(
    pair: tuple[AgentProcess, AgentProcess], tmp_path: Path
) -> None:
    source, target = pair
    big_tree(tmp_path / "a" / "data")
    dst = tmp_path / "b" / "data"
    a, b, dialer = clients(source, target)
    transfer = FileTransfer(
        FileTree(path=str(tmp_path / "a" / "data")),
        FileTree(path=str(dst)),
        bandwidth_limit=4 << 20,
    )
    try:
        events = iter(a.push_files(transfer, b))
        first_progress(events, 2 << 20)
        source.stop(signal.SIGKILL)
        with pytest.raises(errors.ControllerError):
            list(events)
        wait_until(lambda: not children_named(target.pid, "rsync"), what="the target's rsync to go")
        assert not (dst / "big.bin").exists()
        wait_until(lambda: leftovers(dst) == [], what="the partial files to be removed")
    finally:
        dialer.close()


def test_cancel_mid_pass_stops_both_rsyncs_and_discard_removes_the_target(
    pair: tuple[AgentProcess, AgentProcess], tmp_path: Path
) -> None:
    source, target = pair
    big_tree(tmp_path / "a" / "data")
    dst = tmp_path / "b" / "new" / "data"
    a, b, dialer = clients(source, target)
    transfer = FileTransfer(
        FileTree(path=str(tmp_path / "a" / "data")),
        FileTree(path=str(dst)),
        bandwidth_limit=4 << 20,
    )
    try:
        call = a.push_files(transfer, b)
        events = iter(call)
        first_progress(events, 2 << 20)
        call.cancel()
        with pytest.raises(errors.ControllerError):
            list(events)
        for pid in (source.pid, target.pid):
            wait_until(lambda pid=pid: not children_named(pid, "rsync"), what="rsync to go")
        assert not (dst / "big.bin").exists()
        wait_until(lambda: leftovers(dst) == [], what="the partial files to be removed")
        b.discard()
        assert not (tmp_path / "b" / "new").exists()
    finally:
        dialer.close()


@pytest.fixture
def tiny_filesystem(tmp_path: Path) -> Iterator[Path]:
    """An 8 MiB tmpfs: a target that runs out of space."""
    mount = tmp_path / "b" / "tiny"
    mount.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def test_a_target_out_of_space_fails_cleanly(
    pair: tuple[AgentProcess, AgentProcess], tmp_path: Path, tiny_filesystem: Path
) -> None:
    source, target = pair
    big_tree(tmp_path / "a" / "data", 20)
    dst = tiny_filesystem / "data"
    a, b, dialer = clients(source, target)
    try:
        with pytest.raises(AgentFailed) as failed:
            push(a, b, FileTree(path=str(tmp_path / "a" / "data")), FileTree(path=str(dst)))
        assert failed.value.code == "RESOURCE_EXHAUSTED"
        assert "out of space" in str(failed.value)
        assert not (dst / "big.bin").exists()
        wait_until(lambda: leftovers(dst) == [], what="the partial files to be removed")
    finally:
        dialer.close()


def test_a_receiver_that_dies_mid_pass_fails_the_pass_and_the_sender_reaps_its_rsync(
    pair: tuple[AgentProcess, AgentProcess], tmp_path: Path
) -> None:
    source, target = pair
    big_tree(tmp_path / "a" / "data")
    a, b, dialer = clients(source, target)
    transfer = FileTransfer(
        FileTree(path=str(tmp_path / "a" / "data")),
        FileTree(path=str(tmp_path / "b" / "data")),
        bandwidth_limit=4 << 20,
    )
    try:
        events = iter(a.push_files(transfer, b))
        first_progress(events, 2 << 20)
        target.stop(signal.SIGKILL)
        with pytest.raises(errors.ControllerError):
            list(events)
        wait_until(lambda: not children_named(source.pid, "rsync"), what="the sender's rsync to go")
        assert a.info().rsync_version
    finally:
        dialer.close()


def test_a_target_below_a_file_is_refused_and_the_file_is_kept(
    pair: tuple[AgentProcess, AgentProcess], tmp_path: Path
) -> None:
    source, target = pair
    big_tree(tmp_path / "a" / "data", 1)
    (tmp_path / "b" / "a-file").write_text("a user's file\n")
    a, b, dialer = clients(source, target)
    there = FileTree(path=str(tmp_path / "b" / "a-file" / "data"))
    try:
        with pytest.raises(errors.ControllerError):
            push(a, b, FileTree(path=str(tmp_path / "a" / "data")), there)
        b.discard()
        assert (tmp_path / "b" / "a-file").read_text() == "a user's file\n"
    finally:
        dialer.close()
