"""A tree summed up, so that two hosts can tell whether they hold the same data.

One line per entry, in path order: path, type, permission bits, numeric owner and group,
size, mtime (ns), and by type the symlink target (never followed), the device number, the
content digest of a regular file, the first path of its hardlink group; then its extended
attributes (ACLs are extended attributes too). The digest of all lines stands for the tree.
"""

from __future__ import annotations

import os
import stat

import xxhash

from stackferry.hostapi import FileManifest

_READ = 1 << 20
_KINDS = (
    (stat.S_ISREG, "f"),
    (stat.S_ISDIR, "d"),
    (stat.S_ISLNK, "l"),
    (stat.S_ISFIFO, "p"),
    (stat.S_ISSOCK, "s"),
    (stat.S_ISCHR, "c"),
    (stat.S_ISBLK, "b"),
)


def _content(path: str) -> str:
    digest = xxhash.xxh3_128()
    buffer = bytearray(_READ)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buffer):
            digest.update(view[:n])
    return digest.hexdigest()


def _xattrs(path: str) -> str:
    try:
        keys = sorted(os.listxattr(path, follow_symlinks=False))
    except OSError:  # a filesystem without xattrs
        return ""
    values = (os.getxattr(path, key, follow_symlinks=False) for key in keys)
    return ",".join(f"{k}={xxhash.xxh3_64_hexdigest(v)}" for k, v in zip(keys, values, strict=True))


def _kind(mode: int) -> str:
    return next((letter for test, letter in _KINDS if test(mode)), "?")


class _Summary:
    def __init__(self) -> None:
        self.digest = xxhash.xxh3_128()
        self.files = 0
        self.bytes = 0
        self._groups: dict[tuple[int, int], str] = {}  # (dev, inode) -> first path seen

    def add(self, path: str, rel: str) -> None:
        st = os.lstat(path)
        kind = _kind(st.st_mode)
        extra, size = "", 0
        if kind == "f":
            size = st.st_size
            key = (st.st_dev, st.st_ino)
            if key in self._groups:
                extra = f"link={self._groups[key]}"
            else:
                if st.st_nlink > 1:
                    self._groups[key] = rel
                extra = f"xxh3={_content(path)}"
        elif kind == "l":
            extra = f"to={os.readlink(path)}"
        elif kind in "cb":
            extra = f"dev={st.st_rdev}"
        fields = (rel, kind, f"{stat.S_IMODE(st.st_mode):o}", st.st_uid, st.st_gid, size)
        line = "\0".join(map(str, (*fields, st.st_mtime_ns, extra, _xattrs(path)))) + "\n"
        self.digest.update(line.encode(errors="surrogateescape"))
        self.files += 1
        self.bytes += size


def manifest(root: str) -> FileManifest:
    """The manifest of the tree at root (an existing directory, the root itself included)."""
    summary = _Summary()
    summary.add(root, ".")
    for dirpath, dirnames, filenames in os.walk(root):  # symlinks to directories: not followed
        dirnames.sort()
        base = os.path.relpath(dirpath, root)
        for name in sorted(filenames + dirnames):
            summary.add(os.path.join(dirpath, name), name if base == "." else f"{base}/{name}")
    return FileManifest(f"xxh3-128:{summary.digest.hexdigest()}", summary.files, summary.bytes)
