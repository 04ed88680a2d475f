"""The file mover between two real agents with real rsync: a full pass, a delta pass, the
manifests both agents compute (tests/rpc/files_helpers.py builds the tree)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from conftest import AgentProcess
from files_helpers import acl, allocated, clients, make_tree, push, start_pair, stats, xattr

from stackferry.hostapi import FileTree


def test_a_full_pass_copies_every_kind_of_entry_identically(
    start_agent: Callable[..., AgentProcess], tmp_path: Path
) -> None:
    src, dst = tmp_path / "a" / "data", tmp_path / "b" / "moved" / "data"
    make_tree(src)
    source, target = start_pair(start_agent, tmp_path / "a", tmp_path / "b")
    a, b, dialer = clients(source, target)
    try:
        result = push(a, b, FileTree(path=str(src)), FileTree(path=str(dst)))
        assert result.bytes > 3 << 20
        assert stats(dst) == stats(src)
        assert a.file_manifest(FileTree(path=str(src))) == b.file_manifest(FileTree(path=str(dst)))
        assert os.readlink(dst / "sub" / "outside") == "/etc/hostname"
        assert os.stat(dst / "a-hard").st_ino == os.stat(dst / "sub" / "b-hard").st_ino
        assert allocated(dst / "sparse.img") < 1 << 20
        assert (os.stat(dst / "secret").st_uid, os.stat(dst / "secret").st_mode & 0o777) == (
            1000,
            0o600,
        )
        assert xattr(dst / "hello.txt", "user.color") == b"blue"
        assert "user:1000:r--" in acl(dst / "sub" / "random.bin")
        assert acl(dst / "sub" / "random.bin") == acl(src / "sub" / "random.bin")
    finally:
        dialer.close()


def test_a_delta_pass_moves_only_the_change_and_applies_deletions_and_owners(
    start_agent: Callable[..., AgentProcess], tmp_path: Path
) -> None:
    src, dst = tmp_path / "a" / "data", tmp_path / "b" / "data"
    make_tree(src)
    source, target = start_pair(start_agent, tmp_path / "a", tmp_path / "b")
    a, b, dialer = clients(source, target)
    here, there = FileTree(path=str(src)), FileTree(path=str(dst))
    try:
        full = push(a, b, here, there)
        (src / "hello.txt").write_text("hello, changed\n")
        (src / "sub" / "random.bin").unlink()
        os.chown(src / "a-hard", 1000, 1000)
        (src / "a-hard").chmod(0o640)
        delta = push(a, b, here, there)
        assert delta.bytes < full.bytes / 100
        assert (dst / "hello.txt").read_text() == "hello, changed\n"
        assert not (dst / "sub" / "random.bin").exists()
        assert stats(dst) == stats(src)
        assert a.file_manifest(here) == b.file_manifest(there)
    finally:
        dialer.close()


def test_the_manifests_differ_when_the_trees_do(
    start_agent: Callable[..., AgentProcess], tmp_path: Path
) -> None:
    src, dst = tmp_path / "a" / "data", tmp_path / "b" / "data"
    make_tree(src)
    source, target = start_pair(start_agent, tmp_path / "a", tmp_path / "b")
    a, b, dialer = clients(source, target)
    here, there = FileTree(path=str(src)), FileTree(path=str(dst))
    try:
        push(a, b, here, there)
        same = b.file_manifest(there)
        os.utime(dst / "hello.txt", ns=(0, 0))
        assert b.file_manifest(there) != same
        assert b.file_manifest(there).files == same.files
    finally:
        dialer.close()
