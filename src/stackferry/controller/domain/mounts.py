"""Every mount has a mover: the inventory the source agent reported, each mount given one.

| mount                                                   | mover                          |
|---------------------------------------------------------|--------------------------------|
| bind source (after realpath) or a volume's bound device on a dataset | zfs               |
| a plain directory or file; a local named volume         | files (rsync through the agents) |
| /etc/localtime, the Docker socket, /dev, /proc, /sys ... | left alone, reported          |
| tmpfs; a source that does not exist                     | nothing to move                |
| named by `--exclude`                                     | excluded, in the plan and record |
| outside the roots; shared; anonymous; other drivers, types; not in the compose file | refused |

(A mount only a running container has, from an override file say, is refused: the target,
deployed from the compose file, would not mount it.)

Where file data lands: a directory below `target_base` (keeping its path relative to the
deepest directory above all of them), or where an explicit `--map` sends it; a volume in the
target engine under the same name. Pure.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence

from stackferry.compose.paths import PathMap, is_within, normalize
from stackferry.controller.domain.model import (
    FileMove,
    MigrationSpec,
    MountEntry,
    Mover,
    PathMapping,
)
from stackferry.hostapi import MountInfo

# Host paths a stack may bind-mount that every Docker host has: left as they are.
SYSTEM_PATHS = (
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/etc/localtime",
    "/etc/timezone",
    "/dev",
    "/proc",
    "/sys",
)


def is_system_path(path: str) -> bool:
    return bool(path) and any(is_within(normalize(path), s) for s in SYSTEM_PATHS)


def describe(m: MountInfo) -> str:
    if m.type == "bind":
        return f"bind {m.source}"
    if m.type == "volume" and m.anonymous:
        return f"anonymous volume {m.volume[:12] or '(not created yet)'}"
    if m.type == "volume":
        return f"volume {m.volume or m.volume_key}"
    return m.type


def is_excluded(m: MountInfo, excludes: Sequence[str]) -> bool:
    names = {m.volume_key, m.volume, f"{m.service}:{m.target}"} - {""}
    paths = {normalize(p) for p in (m.source, m.resolved_source) if p.startswith("/")}
    return any(e in names or (e.startswith("/") and normalize(e) in paths) for e in excludes)


def _path_mover(m: MountInfo, what: str) -> tuple[Mover, str]:
    """A bind source, or the directory a local volume is bound to."""
    if is_system_path(m.source) or is_system_path(m.resolved_source):
        return Mover.LEFT_ALONE, "a system path every host has"
    via = f" -> {m.resolved_source}" if m.resolved_source and m.resolved_source != m.source else ""
    if m.on_zfs:
        return Mover.ZFS, f"on dataset {m.dataset}"
    if m.outside_roots:
        return Mover.REFUSED, (f"{what}{via} is outside the source agent's allowed path roots")
    if m.source_kind == "missing":
        return Mover.NOTHING, f"{what}{via} does not exist on the source"
    if m.source_kind not in ("dir", "file"):
        return Mover.REFUSED, f"{what}{via} is neither a directory nor a file"
    if m.source_kind == "file":  # the mover copies trees: the file's directory goes with it
        return Mover.FILES, f"a file off ZFS: moved with its directory {tree_source(m)[0]}"
    return Mover.FILES, "a directory off ZFS"


def _volume_mover(m: MountInfo) -> tuple[Mover, str]:
    if m.anonymous and not m.volume:
        return Mover.NOTHING, "an anonymous volume no container has created yet"
    if m.anonymous:
        return Mover.REFUSED, (
            "an anonymous volume cannot be found again on the target: give it a name in the "
            f"compose file, or --exclude {m.service}:{m.target}"
        )
    if m.shared_with:
        return Mover.REFUSED, (
            f"volume {m.volume} is also used by {', '.join(m.shared_with)}: "
            f"moving it would take their data (--exclude {m.volume_key or m.volume} to leave it)"
        )
    if m.resolved_source:  # a local volume bound to a host directory
        return _path_mover(m, f"the device of volume {m.volume}")
    if not m.volume_mountpoint:
        return Mover.NOTHING, f"the engine has no volume {m.volume} yet"
    if m.volume_driver not in ("", "local"):
        return Mover.REFUSED, f"volume driver {m.volume_driver!r} has no mover"
    mounted = m.volume_options.get("type", "none")
    if mounted == "tmpfs":
        return Mover.NOTHING, "a tmpfs volume: nothing to move"
    if mounted != "none":  # nfs, cifs ...: the volume mounts a filesystem of its own
        return Mover.REFUSED, (
            f"volume {m.volume} mounts a {mounted} filesystem: the file mover does not copy "
            f"it (--exclude {m.volume_key or m.volume} when the target reaches it too)"
        )
    external = "an external volume used by this stack alone" if m.external else "a named volume"
    return Mover.FILES, external


def mover_of(m: MountInfo, excludes: Sequence[str]) -> tuple[Mover, str]:
    if m.type == "tmpfs":
        return Mover.NOTHING, "tmpfs: nothing to move"
    if is_excluded(m, excludes):
        return Mover.EXCLUDED, "excluded by --exclude: its data stays behind"
    if m.seen_in == "container" and not (
        is_system_path(m.source) or is_system_path(m.resolved_source)
    ):
        return Mover.REFUSED, (
            "a container of the project mounts it but the compose file does not (an override "
            "file?): the target would not mount it; add it to the compose file, or --exclude "
            f"{m.service}:{m.target}"
        )
    if m.type == "bind":
        return _path_mover(m, m.source)
    if m.type == "volume":
        return _volume_mover(m)
    return Mover.REFUSED, f"mount type {m.type!r} has no mover"


def tree_source(m: MountInfo) -> tuple[str, str]:
    """(directory, volume) the files mover reads for `m` on the source: one is set."""
    if m.type == "volume" and not m.resolved_source:
        return "", m.volume
    path = m.resolved_source or m.source
    return (posixpath.dirname(path) if m.source_kind == "file" else path), ""


def plan_mounts(
    mounts: Sequence[MountInfo], spec: MigrationSpec, dataset_map: Sequence[PathMapping]
) -> tuple[list[MountEntry], list[FileMove]]:
    """Each mount with its mover, and the file moves (one per distinct tree; a tree inside
    another moves with it)."""
    movers = [mover_of(m, spec.options.excludes) for m in mounts]
    trees: dict[tuple[str, str], MountInfo] = {}
    for m, (mover, _) in zip(mounts, movers, strict=True):
        if mover is Mover.FILES:
            trees.setdefault(tree_source(m), m)
    outer = [path for path, _ in trees if path]
    nested = {p for p in outer if any(o != p and is_within(p, o) for o in outer)}
    targets = _directory_targets([p for p in outer if p not in nested], spec)
    moves = [_file_move(key, m, targets) for key, m in trees.items() if key[0] not in nested]
    entries = []
    for m, (mover, reason) in zip(mounts, movers, strict=True):
        moves_to = ""
        if mover is Mover.FILES:
            path, volume = tree_source(m)
            moves_to = (
                f"volume {volume}" if volume else _landing(m.resolved_source or path, targets)
            )
        elif mover is Mover.ZFS:
            moves_to = PathMap.of([(x.source, x.target) for x in dataset_map]).translate(
                normalize(m.resolved_source or m.source)
            )
        entries.append(
            MountEntry(m.service, m.target, describe(m), mover, reason, m.size_bytes, moves_to)
        )
    return entries, moves


def _landing(path: str, targets: dict[str, str]) -> str:
    table = PathMap.of(list(targets.items()))
    return table.translate(normalize(path))


def _file_move(key: tuple[str, str], m: MountInfo, targets: dict[str, str]) -> FileMove:
    path, volume = key
    if volume:
        return FileMove(
            name=f"volume {volume}",
            source_volume=volume,
            target_volume=volume,
            volume_driver=m.volume_driver or "local",
            volume_options=dict(m.volume_options),
            volume_labels=dict(m.volume_labels),
            estimated_bytes=m.size_bytes,
        )
    written = normalize(m.source) if m.source.startswith("/") else ""
    if written and m.source_kind == "file":
        written = posixpath.dirname(written)
    return FileMove(
        name=path,
        source_path=path,
        target_path=targets[path],
        estimated_bytes=m.size_bytes,
        written_path=written if written != path else "",
    )


def _directory_targets(paths: list[str], spec: MigrationSpec) -> dict[str, str]:
    """Source directory -> target directory: an explicit --map wins, else below target_base
    relative to the deepest directory above every one of them."""
    explicit = PathMap.of(
        [(normalize(x.source), normalize(x.target)) for x in spec.options.path_maps]
    )
    free = [p for p in paths if explicit.match(p) is None]
    base = _common_parent(free)
    found = {p: explicit.translate(p) for p in paths if p not in free}
    for p in free:
        relative = posixpath.relpath(p, base) if base else posixpath.basename(p)
        found[p] = posixpath.join(spec.target_base, relative)
    return found


def _common_parent(paths: list[str]) -> str:
    return posixpath.commonpath([posixpath.dirname(p) for p in paths]) if paths else ""


def file_path_map(moves: Sequence[FileMove]) -> list[PathMapping]:
    """How the compose file's paths follow the moved directories (the path compose wrote,
    when a link made it differ from the one moved, goes the same way)."""
    found = [PathMapping(m.source_path, m.target_path) for m in moves if m.source_path]
    found += [PathMapping(m.written_path, m.target_path) for m in moves if m.written_path]
    return found


def overlapping_targets(moves: Sequence[FileMove], dataset_targets: Sequence[str]) -> list[str]:
    """Target directories of file moves that would land on (or inside) one another or a
    dataset's; a dataset inside a dataset is fine (zfs receives the child below the parent)."""
    files = [m.target_path for m in moves if m.target_path]
    paths = files + list(dataset_targets)
    return sorted(
        f"{a} and {b}"
        for i, a in enumerate(paths)
        for b in paths[i + 1 :]
        if i < len(files) and (is_within(a, b) or is_within(b, a))
    )
