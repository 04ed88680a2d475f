"""The manifest (agent/files/manifest.py) changes with everything the file mover must keep:
a byte, a mode, an owner, an mtime, a link target, a hardlink, an xattr, an empty dir."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from stackferry.agent.files.manifest import manifest


def tree(root: Path) -> Path:
    (root / "empty").mkdir(parents=True)
    (root / "a.txt").write_text("alpha\n")
    (root / "b.txt").write_text("alpha\n")
    (root / "link").symlink_to("a.txt")
    os.setxattr(root / "a.txt", "user.k", b"v")
    settle(root)
    return root


def settle(root: Path) -> None:
    """One mtime for every entry, links included: only what a test changes differs."""
    for path in [*root.rglob("*"), root]:
        os.utime(path, ns=(1_000_000_000, 1_700_000_000_123_456_789), follow_symlinks=False)


def relink(root: Path) -> None:
    (root / "link").unlink()
    (root / "link").symlink_to("b.txt")


def hardlink(root: Path) -> None:
    (root / "b.txt").unlink()
    os.link(root / "a.txt", root / "b.txt")


CHANGES: dict[str, Callable[[Path], object]] = {
    "a byte": lambda r: (r / "a.txt").write_text("alphA\n"),
    "a mode": lambda r: (r / "a.txt").chmod(0o600),
    "an owner": lambda r: os.chown(r / "a.txt", 1000, 1000),
    "an mtime by a nanosecond": lambda r: os.utime(
        r / "a.txt", ns=(1_000_000_000, 1_700_000_000_123_456_790)
    ),
    "a link target": relink,
    "a hardlink instead of a copy": hardlink,
    "an xattr": lambda r: os.setxattr(r / "a.txt", "user.k", b"w"),
    "an empty dir gone": lambda r: (r / "empty").rmdir(),
}


def test_two_copies_of_a_tree_have_one_manifest(tmp_path: Path) -> None:
    first = tree(tmp_path / "one")
    second = tmp_path / "two"
    shutil.copytree(first, second, symlinks=True)
    settle(second)
    assert manifest(str(first)) == manifest(str(second))
    assert manifest(str(first)).files == 5
    assert manifest(str(first)).bytes == 12


@pytest.mark.parametrize("change", CHANGES, ids=list(CHANGES))
def test_every_kept_property_changes_the_digest(tmp_path: Path, change: str) -> None:
    root = tree(tmp_path / "t")
    before = manifest(str(root))
    CHANGES[change](root)
    if change != "an mtime by a nanosecond":
        settle(root)
    assert manifest(str(root)).digest != before.digest
