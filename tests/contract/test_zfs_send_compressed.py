"""`zfs send -c` (compressed send): built only where the zfs binary's usage lists it.

The FAKE OpenZFS (tests/fakes/fake_openzfs_zfs.py) lists -c and records it in its stream
header; zfs-fuse has no -c, so a request for it sends the plain stream there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes.fake_zfs_host import FakeZfsHost

from stackferry.agent.storage.zfs import ZfsBackend


def first_line(backend: ZfsBackend, snapshot: str, compressed: bool) -> bytes:
    source = backend.open_send(snapshot, None, compressed=compressed)
    buf = bytearray(1 << 16)
    got = source.readinto(memoryview(buf))
    source.abort()
    return bytes(buf[:got]).split(b"\n", 1)[0]


@pytest.fixture
def openzfs(tmp_path: Path) -> tuple[FakeZfsHost, ZfsBackend]:
    host = FakeZfsHost.create(tmp_path / "host")
    host.zfs("create", "tank")
    host.zfs("create", "tank/app")
    host.write("tank/app", "db.sql", b"INSERT INTO t VALUES (1);\n" * 1000)
    host.zfs("snapshot", "tank/app@s1")
    return host, ZfsBackend(zfs_binary=str(host.binary))


@pytest.mark.parametrize("compressed", [True, False])
def test_openzfs_sends_compressed_only_when_asked(
    openzfs: tuple[FakeZfsHost, ZfsBackend], compressed: bool
) -> None:
    _, backend = openzfs
    assert backend.features()["compressed"] is True
    header = json.loads(first_line(backend, "tank/app@s1", compressed))
    assert header["compressed"] is compressed


def test_a_resumed_send_ignores_the_flag(openzfs: tuple[FakeZfsHost, ZfsBackend]) -> None:
    """A token carries the flags of the send it continues: `send -t` takes no -c."""
    host, backend = openzfs
    state = {"toname": "tank/app@s1", "toguid": host.get("tank/app@s1", "guid")}
    token = "1-" + json.dumps({**state, "fromguid": "", "size": 0, "offset": 0}).encode().hex()
    source = backend.open_send("tank/app@s1", None, token, compressed=True)
    buf = bytearray(1 << 16)
    got = source.readinto(memoryview(buf))
    source.abort()
    assert json.loads(bytes(buf[:got]).split(b"\n", 1)[0])["compressed"] is False
