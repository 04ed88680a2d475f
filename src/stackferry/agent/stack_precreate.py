"""What the deploy after a pre-create (DeployRequest.create_only, issue 12) must clear before
it mounts. No grpc here.

The pre-create runs while the app still runs on the source, with the received datasets not
mounted (agent/storage/zfs.py keeps them unmounted until the deploy). When the compose
directory lies inside a dataset (a stack directory that is a dataset, the compose file next
to its data), the pre-create wrote the compose files into the mount point directory of the
unmounted dataset, and zfs refuses to mount over a directory that is not empty. So before
mounting, the deploy removes from every mount point that is not mounted yet the files it is
about to write itself, byte for byte the same (what the pre-create wrote), and the
directories that leaves empty; once mounted, it writes them into the dataset as a deploy
without a pre-create does. Nothing else is touched: a file with other bytes, or anything
not written by the deploy, stays, and the mount then fails as it would have.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from stackferry.compose.paths import is_within


def clear_pre_created(
    mountpoints: Iterable[str], writes: Sequence[tuple[Path, bytes]]
) -> list[Path]:
    """Removes the files of `writes` (path, the bytes the deploy writes there) found with
    those bytes below a mount point that is not mounted, and the directories that leaves
    empty up to it; returns what it removed."""
    removed: list[Path] = []
    for mountpoint in map(Path, mountpoints):
        if not mountpoint.is_dir() or mountpoint.is_symlink() or os.path.ismount(mountpoint):
            continue
        for path, content in writes:
            if not is_within(str(path), str(mountpoint)) or path == mountpoint:
                continue
            if path.is_symlink() or not path.is_file() or path.read_bytes() != content:
                continue
            path.unlink()
            removed.append(path)
            removed += _remove_empty_parents(path.parent, mountpoint)
    return removed


def _remove_empty_parents(directory: Path, mountpoint: Path) -> list[Path]:
    removed = []
    while directory != mountpoint and is_within(str(directory), str(mountpoint)):
        try:
            directory.rmdir()
        except OSError:  # not empty: something else is in it
            break
        removed.append(directory)
        directory = directory.parent
    return removed
