"""The directory backend on a real filesystem with real tar: snapshots, send -> receive,
abort, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackferry.agent.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from stackferry.agent.storage.directory import DirectoryBackend
from stackferry.agent.streams import ByteSource


def copy_stream(source: ByteSource, sink_write: object, chunk: int = 1 << 16) -> None:
    assert callable(sink_write)
    buf = bytearray(chunk)
    while n := source.readinto(memoryview(buf)):
        sink_write(memoryview(buf)[:n])
    source.finish()


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def backends(tmp_path: Path) -> tuple[DirectoryBackend, DirectoryBackend]:
    return DirectoryBackend(tmp_path / "a"), DirectoryBackend(tmp_path / "b")


def make_dataset(backend: DirectoryBackend, name: str) -> Path:
    live = backend.dataset_dir(name)
    (live / "sub").mkdir(parents=True)
    (live / "a.txt").write_text("a\n")
    (live / "sub" / "b.bin").write_bytes(bytes(range(256)) * 1000)
    return live


def test_a_snapshot_is_a_copy_that_later_writes_do_not_change(
    backends: tuple[DirectoryBackend, DirectoryBackend],
) -> None:
    a, _ = backends
    live = make_dataset(a, "pool/app")
    [info] = a.create_snapshot(["pool/app"], "s1", recursive=False)
    (live / "a.txt").write_text("changed\n")
    assert info.full_name == "pool/app@s1" and info.guid
    assert (a.snapshot_dir("pool/app", "s1") / "data" / "a.txt").read_text() == "a\n"
    assert [s.name for s in a.list_snapshots(["pool/app"], None, False)] == ["s1"]
    with pytest.raises(AlreadyExists):
        a.create_snapshot(["pool/app"], "s1", recursive=False)
    a.destroy_snapshot(["pool/app"], "s1", recursive=False)
    assert a.list_snapshots(["pool/app"], None, False) == []


def test_send_then_receive_recreates_the_dataset_and_its_snapshot(
    backends: tuple[DirectoryBackend, DirectoryBackend],
) -> None:
    a, b = backends
    live = make_dataset(a, "pool/app")
    [info] = a.create_snapshot(["pool/app"], "s1", recursive=False)
    sink = b.open_receive("dst/apps/app", None, allow_overwrite=False)
    copy_stream(a.open_send("pool/app@s1", None), sink.write)
    received = sink.commit()
    assert received.snapshot == "dst/apps/app@s1" and received.guid == info.guid
    assert files(b.dataset_dir("dst/apps/app")) == files(live)
    assert not list((b.base / "incoming").iterdir())
    with pytest.raises(AlreadyExists):
        b.check_receive("dst/apps/app", None, allow_overwrite=False)
    b.check_receive("dst/apps/app", None, allow_overwrite=True)


def test_an_aborted_receive_leaves_nothing(
    backends: tuple[DirectoryBackend, DirectoryBackend],
) -> None:
    a, b = backends
    make_dataset(a, "pool/app")
    a.create_snapshot(["pool/app"], "s1", recursive=False)
    source = a.open_send("pool/app@s1", None)
    sink = b.open_receive("dst/app", None, allow_overwrite=False)
    buf = bytearray(4096)
    sink.write(memoryview(buf)[: source.readinto(memoryview(buf))])
    source.abort()
    sink.abort()
    sink.abort()
    assert not b.dataset_dir("dst/app").exists()
    assert not list((b.base / "incoming").iterdir())


def test_refusals(backends: tuple[DirectoryBackend, DirectoryBackend]) -> None:
    a, b = backends
    make_dataset(a, "pool/app")
    with pytest.raises(NotFound):
        a.open_send("pool/app@missing", None)
    with pytest.raises(FailedPrecondition):
        a.open_send("pool/app@s1", "pool/app@s0")
    with pytest.raises(FailedPrecondition):
        b.check_receive("dst/app", "1234", allow_overwrite=False)
    with pytest.raises(InvalidArgument):
        b.check_receive("dst", None, allow_overwrite=False)  # a pool root
    with pytest.raises(InvalidArgument):
        b.dataset_dir("../etc")
    with pytest.raises(NotFound):
        a.create_snapshot(["pool/none"], "s1", recursive=False)
