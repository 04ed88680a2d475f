"""Where a file tree is on this host: a directory under the allowed path roots (realpath
checked), or a named volume's mountpoint as the engine reports it. The receiving side also
creates a missing target directory, recorded for the migration before it exists, and
removes what an interrupted rsync parked in its partial directories.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from typing import Protocol

from stackferry.agent.errors import AlreadyExists, InvalidArgument, NotFound
from stackferry.agent.files.rsync_argv import PARTIAL_DIR
from stackferry.agent.files.volumes import MIGRATION_LABEL, Volumes, check_volume_name
from stackferry.agent.roots import Roots
from stackferry.hostapi import FileTree


class CreationRecord(Protocol):
    """The agent's journal of what each migration created (Discard removes it)."""

    def record_created(self, migration_id: str, kind: str, name: str) -> None: ...

    def created_by(self, migration_id: str) -> Sequence[object]: ...


def check_tree(tree: FileTree) -> FileTree:
    if bool(tree.path) == bool(tree.volume):
        raise InvalidArgument("a file tree is either a path or a volume: give exactly one")
    if tree.volume:
        check_volume_name(tree.volume)
    return tree


def tree_key(tree: FileTree) -> str:
    """What a ticket is issued for."""
    check_tree(tree)
    return f"volume:{tree.volume}" if tree.volume else f"path:{tree.path}"


def _has_entries(directory: str) -> bool:
    with os.scandir(directory) as entries:
        return any(True for _ in entries)


class Trees:
    def __init__(self, roots: Roots, volumes: Volumes, journal: CreationRecord | None) -> None:
        self.roots = roots
        self.volumes = volumes
        self.journal = journal

    def source_dir(self, tree: FileTree) -> str:
        """An existing directory to send from."""
        check_tree(tree)
        if tree.volume:
            return self.volumes.mountpoint(tree.volume)
        path = self.roots.check_path(tree.path)
        if not os.path.isdir(path):
            raise NotFound(f"no directory {tree.path!r} on this host")
        return path

    def _created_here(self, migration_id: str, path: str) -> bool:
        if not migration_id or self.journal is None:
            return False
        for item in self.journal.created_by(migration_id):
            name = str(getattr(item, "name", ""))
            if getattr(item, "kind", "") == "dir" and (path == name or path.startswith(name + "/")):
                return True
        return False

    def check_target(self, tree: FileTree, allow_overwrite: bool, migration_id: str) -> str:
        """The directory a pass writes into (it may not exist yet). A non-empty one that this
        migration did not make is refused unless allow_overwrite."""
        check_tree(tree)
        if tree.volume:
            info = self.volumes.inspect(tree.volume)
            if not info.exists:
                raise NotFound(f"no volume {tree.volume!r} on this host: create it first")
            ours = bool(migration_id) and info.labels.get(MIGRATION_LABEL) == migration_id
            if not info.empty and not ours and not allow_overwrite:
                raise AlreadyExists(
                    f"volume {tree.volume!r} on the target already holds data: refused "
                    "without allow_overwrite"
                )
            return self.volumes.mountpoint(tree.volume)
        path = self.roots.check_path(tree.path)
        if os.path.lexists(path) and not os.path.isdir(path):
            raise AlreadyExists(f"{tree.path!r} exists on the target and is not a directory")
        if (
            os.path.isdir(path)
            and _has_entries(path)
            and not allow_overwrite
            and not self._created_here(migration_id, path)
        ):
            raise AlreadyExists(
                f"directory {tree.path!r} on the target is not empty: refused without "
                "allow_overwrite"
            )
        return path

    def open_target(self, tree: FileTree, allow_overwrite: bool, migration_id: str) -> str:
        """check_target, then creates a missing directory (its topmost missing parent is
        recorded for the migration first)."""
        path = self.check_target(tree, allow_overwrite, migration_id)
        if os.path.isdir(path):
            return path
        top = path  # the topmost missing directory: what the migration creates
        while not os.path.lexists(os.path.dirname(top)):
            top = os.path.dirname(top)
        self.roots.check_path(top)  # never above an allowed root
        if not os.path.isdir(os.path.dirname(top)):
            raise AlreadyExists(
                f"cannot create {tree.path!r} on the target: {os.path.dirname(top)!r} is not "
                "a directory"
            )
        if self.journal is not None:
            self.journal.record_created(migration_id, "dir", top)
        os.makedirs(path, mode=0o755, exist_ok=True)
        return path


def remove_partials(target_dir: str) -> None:
    """Removes what an interrupted rsync left aside (never a file at its own name)."""
    for dirpath, dirnames, _ in os.walk(target_dir):
        if PARTIAL_DIR in dirnames:
            shutil.rmtree(os.path.join(dirpath, PARTIAL_DIR), ignore_errors=True)
            dirnames.remove(PARTIAL_DIR)
