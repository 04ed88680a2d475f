"""Discard after file passes removes only what its migration wrote: two migrations' trees
under one base directory the first one created, and a target directory that existed
(empty) before the pass."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from conftest import AgentProcess
from files_helpers import clients, push, start_pair

from stackferry.hostapi import FileTree


def test_discard_of_one_migration_keeps_the_tree_another_wrote_under_the_same_base(
    start_agent: Callable[..., AgentProcess], tmp_path: Path
) -> None:
    source, target = start_pair(start_agent, tmp_path / "src", tmp_path / "dst")
    for name in ("x", "y"):
        (tmp_path / "src" / name).mkdir()
        (tmp_path / "src" / name / f"{name}.txt").write_text(f"{name}\n")
    base = tmp_path / "dst" / "stacks"  # does not exist: migration X creates it
    src_x, dst_x, dialer_x = clients(source, target, "m-x")
    src_y, dst_y, dialer_y = clients(source, target, "m-y")
    try:
        push(src_x, dst_x, FileTree(path=str(tmp_path / "src/x")), FileTree(path=str(base / "x")))
        push(src_y, dst_y, FileTree(path=str(tmp_path / "src/y")), FileTree(path=str(base / "y")))
        result = dst_x.discard()
        assert not (base / "x").exists(), result
        assert (base / "y" / "y.txt").read_text() == "y\n", result
        dst_y.discard()
        assert list(base.iterdir()) == []  # X's base stays: it was not empty at X's discard
    finally:
        dialer_x.close()
        dialer_y.close()


def test_a_pre_existing_empty_target_dir_is_empty_again_after_discard_and_a_retry_passes(
    start_agent: Callable[..., AgentProcess], tmp_path: Path
) -> None:
    source, target = start_pair(start_agent, tmp_path / "src", tmp_path / "dst")
    (tmp_path / "src" / "data").mkdir()
    (tmp_path / "src" / "data" / "a.txt").write_text("a\n")
    (tmp_path / "src" / "data" / "sub").mkdir()
    (tmp_path / "src" / "data" / "sub" / "b.txt").write_text("b\n")
    empty = tmp_path / "dst" / "data"
    empty.mkdir()  # the operator made it beforehand
    src_tree, dst_tree = FileTree(path=str(tmp_path / "src/data")), FileTree(path=str(empty))
    first_src, first_dst, first = clients(source, target, "m-first")
    retry_src, retry_dst, retry = clients(source, target, "m-retry")
    try:
        push(first_src, first_dst, src_tree, dst_tree)
        assert (empty / "sub" / "b.txt").exists()
        first_dst.discard()
        assert empty.is_dir() and list(empty.iterdir()) == []
        push(retry_src, retry_dst, src_tree, dst_tree)  # not "is not empty"
        assert (empty / "a.txt").read_text() == "a\n"
        retry_dst.discard()
        assert empty.is_dir() and list(empty.iterdir()) == []
    finally:
        first.close()
        retry.close()
