"""Host paths for compose translation: the path map and how a path is written back.

Paths are compared lexically (`posixpath.normpath`), never against a filesystem: the
translation is pure and runs on the controller, which sees neither host.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from stackferry.compose.errors import ComposeError


def normalize(path: str) -> str:
    """Lexically normal absolute path: no `.`, `..`, `//` or trailing slash."""
    normal = posixpath.normpath(path)
    # POSIX keeps a leading `//` as implementation-defined; Linux treats it as `/`.
    return "/" + normal.lstrip("/") if normal.startswith("//") else normal


def absolute_dir(path: str, what: str) -> str:
    """`path` normalised; a ComposeError names `what` when it is relative."""
    if not path.startswith("/"):
        raise ComposeError(f"the {what} must be an absolute path, not {path!r}")
    return normalize(path)


def is_within(path: str, base: str) -> bool:
    """Whether `path` is `base` or below it, on whole path components."""
    return base == "/" or path == base or path.startswith(base + "/")


@dataclass(frozen=True)
class PathMap:
    """Source → target prefixes, matched longest prefix first on component boundaries."""

    entries: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, pairs: list[tuple[str, str]]) -> PathMap:
        seen: dict[str, str] = {}
        for source, target in pairs:
            if not source.startswith("/") or not target.startswith("/"):
                raise ComposeError(f"path map entry {source}={target}: both sides must be absolute")
            src, dst = normalize(source), normalize(target)
            if seen.get(src, dst) != dst:
                raise ComposeError(f"path map maps {src} twice: to {seen[src]} and to {dst}")
            seen[src] = dst
        longest_first = sorted(seen.items(), key=lambda item: len(item[0]), reverse=True)
        return cls(tuple(longest_first))

    def match(self, path: str) -> tuple[str, str] | None:
        """The mapping entry that covers the normalised absolute `path`, if any."""
        for source, target in self.entries:
            if is_within(path, source):
                return source, target
        return None

    def translate(self, path: str) -> str:
        """The target of the normalised absolute `path`; unchanged when no entry covers it."""
        entry = self.match(path)
        if entry is None:
            return path
        source, target = entry
        rest = path[len(source) :] if source != "/" else path
        return normalize(target + "/" + rest.lstrip("/")) if rest.strip("/") else target


def absolute(path: str, base_dir: str, home: str) -> str:
    """`path` as compose resolves it: `~` is `home`, relative is against `base_dir`."""
    if path == "~" or path.startswith("~/"):
        path = home + path[1:]
    return normalize(posixpath.join(base_dir, path))


def render(new_path: str, written: str, base_dir: str, home: str, dot_prefix: bool) -> str:
    """Write the absolute `new_path` in the form the user wrote `written`.

    A relative path stays relative when it is still inside `base_dir` (the project
    directory on the target), else it becomes absolute: a path that leaves the project
    is clearer absolute than as a chain of `..`. A `~` path stays `~` while it is under
    `home`. `dot_prefix` keeps the `./` that short volume syntax needs to tell a relative
    path from a named volume. A trailing slash the user wrote is kept.
    """
    trailing = "/" if written.endswith("/") and len(written) > 1 else ""
    if written.startswith("~") and is_within(new_path, home):
        rest = new_path[len(home) :].lstrip("/") if home != "/" else new_path.lstrip("/")
        return ("~/" + rest if rest else "~") + (trailing if rest else "")
    if not written.startswith(("/", "~")) and is_within(new_path, base_dir):
        rest = posixpath.relpath(new_path, base_dir)
        if rest == ".":
            return "." + trailing
        keep_dot = dot_prefix or written.startswith("./")
        return ("./" + rest if keep_dot else rest) + trailing
    return new_path + (trailing if new_path != "/" else "")
