"""ZfsBackend on real zfs-fuse pools: snapshots, send -> receive between two pools, refusals,
aborts that leave the target as it was, and typed errors."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import pytest

from stackferry.agent import errors
from stackferry.agent.storage.zfs import ZfsBackend
from stackferry.agent.streams import ByteSink, ByteSource, Received

CHUNK = 1 << 20


class Pool(Protocol):
    """What tests/conftest.py's zfs_pool factory returns (this folder's conftest shadows it)."""

    name: str
    mountpoint: Path


def zfs(*args: str) -> str:
    return subprocess.run(["zfs", *args], check=True, capture_output=True, text=True).stdout


def prop(name: str, key: str) -> str:
    return zfs("get", "-Hp", "-o", "value", key, name).strip()


def names_under(dataset: str) -> list[str]:
    done = subprocess.run(
        ["zfs", "list", "-H", "-t", "all", "-o", "name", "-r", dataset],
        capture_output=True,
        text=True,
    )
    return done.stdout.split()


def digest_tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def pump(source: ByteSource, sink: ByteSink, limit: int | None = None) -> int:
    buf = memoryview(bytearray(CHUNK))
    moved = 0
    while limit is None or moved < limit:
        n = source.readinto(buf)
        if not n:
            break
        sink.write(buf[:n])
        moved += n
    return moved


def transfer(
    backend: ZfsBackend, snapshot: str, base: str | None, target: str, base_guid: str | None
) -> Received:
    source = backend.open_send(snapshot, base)
    sink = backend.open_receive(target, base_guid, allow_overwrite=False)
    try:
        pump(source, sink)
        source.finish()
    except BaseException:
        source.abort()
        sink.abort()
        raise
    return sink.commit()


@pytest.fixture
def backend() -> ZfsBackend:
    return ZfsBackend("zfs", "zpool")


@pytest.fixture
def pools(zfs_pool: Callable[..., Pool]) -> tuple[Pool, Pool]:
    src, dst = zfs_pool("src"), zfs_pool("dst")
    zfs("create", f"{src.name}/app")
    return src, dst


def test_features_detected_on_zfs_fuse(backend: ZfsBackend, zfs_available: None) -> None:
    features = backend.features()
    assert features["send_estimate"] is False and features["resume"] is False
    assert features["receive_unmounted"] is False
    assert set(features) >= {"send_estimate", "resume", "compressed", "raw", "holds"}
    assert "23" in backend.version()


def test_full_then_incremental_copies_the_files_byte_for_byte(
    backend: ZfsBackend, pools: tuple[Pool, Pool], tmp_path: Path
) -> None:
    src, dst = pools
    data = src.mountpoint / "app"
    (data / "db").mkdir()
    (data / "db" / "table").write_bytes(bytes(range(256)) * 4096)
    (data / "gone.txt").write_text("deleted before s2")
    backend.create_snapshot([f"{src.name}/app"], "s1", recursive=False)
    target = f"{dst.name}/apps/app"

    first = transfer(backend, f"{src.name}/app@s1", None, target, None)
    assert first == Received(f"{target}@s1", prop(f"{src.name}/app@s1", "guid"))
    assert backend.get_datasets([target], False)[0].mounted is False

    (data / "db" / "table").write_bytes(b"changed" * 100_000)
    (data / "gone.txt").unlink()
    (data / "new.bin").write_bytes(bytes(reversed(range(256))) * 1000)
    backend.create_snapshot([f"{src.name}/app"], "s2", recursive=False)
    second = transfer(backend, f"{src.name}/app@s2", "@s1", target, first.guid)
    assert second.snapshot == f"{target}@s2"
    assert second.guid == prop(f"{src.name}/app@s2", "guid")

    backend.mount(target, str(tmp_path / "deployed"))
    assert backend.get_datasets([target], False)[0].mounted is True
    assert digest_tree(tmp_path / "deployed") == digest_tree(data)
    zfs("unmount", target)


def test_snapshot_of_several_datasets_is_one_transaction(
    backend: ZfsBackend, pools: tuple[Pool, Pool]
) -> None:
    src, _ = pools
    for child in ("db", "files", "other"):
        zfs("create", f"{src.name}/app/{child}")
    wanted = [f"{src.name}/app/db", f"{src.name}/app/files"]
    made = backend.create_snapshot(wanted, "sf-1", recursive=False)
    assert [s.full_name for s in made] == [f"{w}@sf-1" for w in wanted]
    assert {prop(s.full_name, "createtxg") for s in made} == {prop(made[0].full_name, "createtxg")}
    assert f"{src.name}/app/other@sf-1" not in names_under(src.name)
    assert f"{src.name}/app@sf-1" not in names_under(src.name)
    assert all(s.guid == prop(s.full_name, "guid") and s.created_unix > 0 for s in made)


def test_list_and_destroy_snapshots(backend: ZfsBackend, pools: tuple[Pool, Pool]) -> None:
    src, _ = pools
    app = f"{src.name}/app"
    zfs("create", f"{app}/child")
    backend.create_snapshot([app], "a", recursive=True)
    backend.create_snapshot([app], "b", recursive=False)
    assert [s.name for s in backend.list_snapshots([app], None, recursive=False)] == ["a", "b"]
    recursive = backend.list_snapshots([app], "a", recursive=True)
    assert [s.full_name for s in recursive] == [f"{app}@a", f"{app}/child@a"]
    backend.destroy_snapshot([app], "a", recursive=True)
    assert [s.full_name for s in backend.list_snapshots([app], None, True)] == [f"{app}@b"]
    with pytest.raises(errors.NotFound):
        backend.list_snapshots([f"{src.name}/nope"], None, False)


def test_held_snapshot_cannot_be_destroyed_until_released(
    backend: ZfsBackend, pools: tuple[Pool, Pool]
) -> None:
    src, _ = pools
    app = f"{src.name}/app"
    backend.create_snapshot([app], "kept", recursive=False)
    backend.hold([app], "kept", "sf-transfer", recursive=False)
    with pytest.raises(errors.FailedPrecondition):
        backend.destroy_snapshot([app], "kept", recursive=False)
    backend.release([app], "kept", "sf-transfer", recursive=False)
    backend.destroy_snapshot([app], "kept", recursive=False)
    assert backend.list_snapshots([app], None, False) == []


def test_datasets_and_the_dataset_holding_a_path(
    backend: ZfsBackend, pools: tuple[Pool, Pool]
) -> None:
    src, _ = pools
    zfs("create", f"{src.name}/app/db")
    found, missing = backend.get_datasets([f"{src.name}/app", f"{src.name}/nope"], False)
    assert found.exists and found.mounted and found.mountpoint == str(src.mountpoint / "app")
    assert found.available_bytes > 0 and found.guid == prop(f"{src.name}/app", "guid")
    assert not missing.exists
    holder = backend.dataset_for_path(str(src.mountpoint / "app" / "db" / "x" / "file"))
    assert holder is not None and holder.name == f"{src.name}/app/db"
    appdir = backend.dataset_for_path(str(src.mountpoint / "app" / "dbx"))
    assert appdir is not None and appdir.name == f"{src.name}/app"
    assert backend.dataset_for_path("/nonexistent/place") is None


def test_estimate_from_properties(backend: ZfsBackend, pools: tuple[Pool, Pool]) -> None:
    src, _ = pools
    (src.mountpoint / "app" / "blob").write_bytes(b"\x01" * 3_000_000)
    backend.create_snapshot([f"{src.name}/app"], "s1", recursive=False)
    estimate = backend.estimate_send(f"{src.name}/app@s1", None)
    assert estimate.method == "properties"
    assert estimate.bytes == int(prop(f"{src.name}/app@s1", "referenced")) >= 3_000_000
    with pytest.raises(errors.NotFound):
        backend.estimate_send(f"{src.name}/app@missing", None)


def test_refusals_before_any_receive(backend: ZfsBackend, pools: tuple[Pool, Pool]) -> None:
    src, dst = pools
    backend.create_snapshot([f"{src.name}/app"], "s1", recursive=False)
    target = f"{dst.name}/apps/app"
    with pytest.raises(errors.InvalidArgument, match="pool root"):
        backend.check_receive(dst.name, None, allow_overwrite=True)
    with pytest.raises(errors.NotFound):
        backend.check_receive("nosuchpool9/apps/app", None, False)
    with pytest.raises(errors.FailedPrecondition, match="does not exist"):
        backend.check_receive(target, "123", False)
    first = transfer(backend, f"{src.name}/app@s1", None, target, None)
    with pytest.raises(errors.AlreadyExists, match="allow_overwrite"):
        backend.check_receive(target, None, False)
    backend.check_receive(target, None, allow_overwrite=True)
    with pytest.raises(errors.FailedPrecondition, match="123") as mismatch:
        backend.check_receive(target, "123", False)
    assert first.guid in str(mismatch.value)
    backend.check_receive(target, first.guid, False)
    with pytest.raises(errors.NotFound):
        backend.open_send(f"{src.name}/app@nope", None)


def test_base_matched_by_guid_not_name(backend: ZfsBackend, pools: tuple[Pool, Pool]) -> None:
    """A target snapshot named like the base but from another lineage is no base."""
    src, dst = pools
    target = f"{dst.name}/apps/app"
    zfs("create", "-p", target)
    zfs("snapshot", f"{target}@s1")
    backend.create_snapshot([f"{src.name}/app"], "s1", recursive=False)
    source_guid = prop(f"{src.name}/app@s1", "guid")
    with pytest.raises(errors.FailedPrecondition, match=source_guid):
        backend.check_receive(target, source_guid, False)


def test_aborted_full_receive_leaves_nothing(backend: ZfsBackend, pools: tuple[Pool, Pool]) -> None:
    src, dst = pools
    (src.mountpoint / "app" / "big").write_bytes(bytes(range(256)) * 40_000)
    backend.create_snapshot([f"{src.name}/app"], "s1", recursive=False)
    before = names_under(dst.name)
    source = backend.open_send(f"{src.name}/app@s1", None)
    sink = backend.open_receive(f"{dst.name}/new/parents/app", None, False)
    pump(source, sink, limit=2 * CHUNK)
    sink.abort()
    source.abort()
    sink.abort()
    assert names_under(dst.name) == before


def test_aborted_incremental_leaves_the_target_as_before(
    backend: ZfsBackend, pools: tuple[Pool, Pool]
) -> None:
    """Even when the whole stream went in (the receiver may already have applied it)."""
    src, dst = pools
    app, target = f"{src.name}/app", f"{dst.name}/apps/app"
    backend.create_snapshot([app], "s1", recursive=False)
    first = transfer(backend, f"{app}@s1", None, target, None)
    (src.mountpoint / "app" / "more").write_bytes(b"delta" * 100_000)
    backend.create_snapshot([app], "s2", recursive=False)
    before = names_under(target)
    source = backend.open_send(f"{app}@s2", "@s1")
    sink = backend.open_receive(target, first.guid, False)
    pump(source, sink)
    source.finish()
    sink.abort()
    assert names_under(target) == before
    again = transfer(backend, f"{app}@s2", "@s1", target, first.guid)
    assert again.snapshot == f"{target}@s2"


def test_failed_receive_is_typed_and_cleaned(backend: ZfsBackend, pools: tuple[Pool, Pool]) -> None:
    """Garbage instead of a zfs stream: commit raises a typed error, nothing stays behind."""
    _, dst = pools
    before = names_under(dst.name)
    sink = backend.open_receive(f"{dst.name}/apps/junk", None, False)
    with pytest.raises(errors.AgentError) as failure:
        sink.write(b"this is not a zfs stream" * 1000)
        sink.commit()
    assert "zfs receive" in str(failure.value)
    assert names_under(dst.name) == before
