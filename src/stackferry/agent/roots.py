"""Validation of names and paths that arrive from the network, before any command line.

Dataset and snapshot names must be well-formed ZFS names (no option-like or shell
characters) and lie under one of the agent's allowed dataset roots; filesystem paths
must be absolute, free of ``..`` and, once symlinks are resolved (realpath, on this host),
under an allowed path root: a symlink inside a root that points out of it is refused, by name.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from stackferry.agent.errors import InvalidArgument, PermissionDenied

_COMPONENT = r"[A-Za-z0-9_][A-Za-z0-9_.:-]*"
_DATASET_RE = re.compile(rf"^{_COMPONENT}(/{_COMPONENT})*$")
_SNAPNAME_RE = re.compile(rf"^{_COMPONENT}$")


def validate_dataset_name(name: str) -> str:
    if not name or len(name) > 255 or not _DATASET_RE.match(name) or ".." in name.split("/"):
        raise InvalidArgument(f"invalid dataset name {name!r}")
    return name


def validate_snapshot_name(name: str) -> str:
    """A snapshot's short name (after the @)."""
    if not name or len(name) > 255 or not _SNAPNAME_RE.match(name):
        raise InvalidArgument(f"invalid snapshot name {name!r}")
    return name


def split_snapshot(full: str) -> tuple[str, str]:
    """'pool/ds@snap' -> ('pool/ds', 'snap'), both validated."""
    dataset, sep, snap = full.partition("@")
    if not sep:
        raise InvalidArgument(f"invalid snapshot {full!r}: expected dataset@name")
    return validate_dataset_name(dataset), validate_snapshot_name(snap)


@dataclass(frozen=True)
class Roots:
    datasets: tuple[str, ...]
    paths: tuple[str, ...]

    def check_dataset(self, name: str) -> str:
        """A validated dataset name under an allowed root (the root itself included)."""
        validate_dataset_name(name)
        if not any(name == r or name.startswith(r + "/") for r in self.datasets):
            raise PermissionDenied(
                f"dataset {name!r} is outside this agent's allowed dataset roots "
                f"({', '.join(self.datasets) or 'none configured'})"
            )
        return name

    def check_snapshot(self, full: str) -> tuple[str, str]:
        dataset, snap = split_snapshot(full)
        self.check_dataset(dataset)
        return dataset, snap

    def check_path(self, path: str) -> str:
        """An absolute path, normalised with symlinks resolved, under an allowed path root."""
        if not path or not path.startswith("/") or "\0" in path:
            raise InvalidArgument(f"invalid path {path!r}: must be absolute")
        if ".." in path.split("/"):
            raise InvalidArgument(f"invalid path {path!r}: '..' is not allowed")
        resolved = os.path.realpath(path)
        if self._inside(resolved):
            return resolved
        roots = ", ".join(self.paths) or "none configured"
        link = _escaping_link(path)
        if link and self._inside(os.path.normpath(path)):
            raise PermissionDenied(
                f"path {path!r} leaves this agent's allowed path roots ({roots}) through the "
                f"symlink {link} -> {os.readlink(link)} (it resolves to {resolved})"
            )
        raise PermissionDenied(
            f"path {path!r} is outside this agent's allowed path roots ({roots})"
        )

    def _inside(self, resolved: str) -> bool:
        for root in self.paths:
            real_root = os.path.realpath(root)
            if resolved == real_root or resolved.startswith(real_root.rstrip("/") + "/"):
                return True
        return False


def _escaping_link(path: str) -> str:
    """The first symlink on the way down ``path`` ("" when none): the decision is made on
    where a path really leads, and the refusal names the link that leads elsewhere."""
    current = "/"
    for part in [p for p in path.split("/") if p]:
        current = os.path.join(current, part)
        if os.path.islink(current):
            return current
    return ""
