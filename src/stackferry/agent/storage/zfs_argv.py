"""Pure builders of zfs command lines: typed arguments in, argv lists out. Nothing runs here.

Every dataset and snapshot name is validated again here (agent/roots.py's rules), so a
name that starts with "-" or holds a shell character can never reach an argv, whoever
calls. Flags that only OpenZFS has (send -nvP / -t / -c / -w, receive -s / -u) are
built only when the caller asks, after feature detection (zfs_parse.py reads zfs's usage text).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from stackferry.agent.errors import InvalidArgument
from stackferry.agent.roots import split_snapshot, validate_dataset_name

SNAPSHOT_PROPS = ("guid", "creation", "createtxg", "used", "referenced")
DATASET_PROPS = ("type", "guid", "mountpoint", "mounted", "used", "available", "referenced")
_PROPERTY_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_:.@")


def _dataset(name: str) -> str:
    return validate_dataset_name(name)


def _snapshot(full: str) -> str:
    split_snapshot(full)
    return full


def _property(name: str) -> str:
    if not name or not name[0].isalpha() or not set(name) <= _PROPERTY_CHARS:
        raise InvalidArgument(f"invalid zfs property name {name!r}")
    return name


def _resume_token(token: str) -> str:
    # OpenZFS tokens look like "1-abc123-d8-789c..." : hex digits and dashes only.
    if not token or token.startswith("-") or not set(token) <= set("0123456789abcdef-"):
        raise InvalidArgument(f"invalid resume token {token[:40]!r}")
    return token


def snapshot_create(zfs: str, snapshots: Sequence[str], recursive: bool) -> list[str]:
    """One call creates every snapshot atomically (OpenZFS takes several; zfs-fuse one)."""
    if not snapshots:
        raise InvalidArgument("no snapshot to create")
    return [zfs, "snapshot", *(["-r"] if recursive else []), *map(_snapshot, snapshots)]


def snapshot_destroy(zfs: str, snapshot: str, recursive: bool) -> list[str]:
    return [zfs, "destroy", *(["-r"] if recursive else []), _snapshot(snapshot)]


def hold(zfs: str, tag: str, snapshots: Sequence[str], recursive: bool) -> list[str]:
    return [zfs, "hold", *(["-r"] if recursive else []), _tag(tag), *map(_snapshot, snapshots)]


def release(zfs: str, tag: str, snapshots: Sequence[str], recursive: bool) -> list[str]:
    return [zfs, "release", *(["-r"] if recursive else []), _tag(tag), *map(_snapshot, snapshots)]


def _tag(tag: str) -> str:
    if not tag or tag.startswith("-") or not tag.replace("-", "").replace("_", "").isalnum():
        raise InvalidArgument(f"invalid hold tag {tag!r}")
    return tag


def get_properties(
    zfs: str, names: Sequence[str], props: Sequence[str], depth: int | None
) -> list[str]:
    """`zfs get -Hp` (parsable on OpenZFS and zfs-fuse, whose `zfs list` has no -p).

    depth None: only the names; -1: recursive; n >= 1: `-d n` (1 = children and own snapshots).
    """
    if depth is None:
        scope: list[str] = []
    elif depth < 0:
        scope = ["-r"]
    else:
        scope = ["-d", str(depth)]
    checked = [_snapshot(n) if "@" in n else _dataset(n) for n in names]
    props_arg = ",".join(map(_property, props))
    return [zfs, "get", "-Hp", *scope, "-o", "name,property,value", props_arg, *checked]


def get_property_sources(zfs: str, dataset: str, prop: str) -> list[str]:
    """One property of a dataset and every descendant, with where each value comes from."""
    return [zfs, "get", "-Hp", "-r", "-o", "name,value,source", _property(prop), _dataset(dataset)]


def list_filesystems(zfs: str) -> list[str]:
    """Every filesystem with its mountpoint (values need no -p: no sizes)."""
    return [zfs, "list", "-H", "-t", "filesystem", "-o", "name,mountpoint,mounted"]


def send(
    zfs: str,
    snapshot: str,
    base: str | None = None,
    *,
    compressed: bool = False,
    raw: bool = False,
) -> list[str]:
    """`zfs send [-c] [-w] [-i base] snapshot`; base may be "pool/ds@s1" or "@s1"."""
    argv = [zfs, "send"]
    if compressed:
        argv.append("-c")
    if raw:
        argv.append("-w")
    if base:
        argv += ["-i", _base(base, snapshot)]
    return [*argv, _snapshot(snapshot)]


def _base(base: str, snapshot: str) -> str:
    dataset, _ = split_snapshot(snapshot)
    if base.startswith("@"):
        return "@" + split_snapshot(dataset + base)[1]
    base_dataset, _ = split_snapshot(base)
    if base_dataset != dataset:
        raise InvalidArgument(f"base {base!r} is not a snapshot of {dataset!r}")
    return base


def send_resume(zfs: str, token: str) -> list[str]:
    """OpenZFS: continue an interrupted `receive -s` from its receive_resume_token."""
    return [zfs, "send", "-t", _resume_token(token)]


def send_estimate_resume(zfs: str, token: str) -> list[str]:
    """OpenZFS: what is left to send of a partial receive; prints the token's `toname` too."""
    return [zfs, "send", "-nvP", "-t", _resume_token(token)]


def receive_abort(zfs: str, target: str) -> list[str]:
    """OpenZFS: discards the partial state a `receive -s` left in target."""
    return [zfs, "receive", "-A", _dataset(target)]


def send_estimate(zfs: str, snapshot: str, base: str | None = None) -> list[str]:
    """OpenZFS dry run: `zfs send -nvP [-i base] snapshot` prints a `size` line."""
    argv = [zfs, "send", "-nvP"]
    if base:
        argv += ["-i", _base(base, snapshot)]
    return [*argv, _snapshot(snapshot)]


def receive(
    zfs: str,
    target: str,
    *,
    force: bool = False,
    unmounted: bool = False,
    resumable: bool = False,
) -> list[str]:
    """`zfs receive [-F] [-u] [-s] target`: -F only when the caller allowed overwriting."""
    argv = [zfs, "receive"]
    if force:
        argv.append("-F")
    if unmounted:
        argv.append("-u")
    if resumable:
        argv.append("-s")
    return [*argv, _dataset(target)]


def create_with_parents(zfs: str, dataset: str) -> list[str]:
    return [zfs, "create", "-p", _dataset(dataset)]


def destroy(zfs: str, dataset: str, recursive: bool) -> list[str]:
    return [zfs, "destroy", *(["-r"] if recursive else []), _dataset(dataset)]


def rollback(zfs: str, snapshot: str) -> list[str]:
    """Back to snapshot, destroying any later snapshot (-r)."""
    return [zfs, "rollback", "-r", _snapshot(snapshot)]


def set_property(zfs: str, dataset: str, prop: str, value: str) -> list[str]:
    if "\n" in value or "\0" in value:
        raise InvalidArgument(f"invalid value for {prop}: {value!r}")
    return [zfs, "set", f"{_property(prop)}={value}", _dataset(dataset)]


def set_properties(zfs: str, dataset: str, props: Mapping[str, str]) -> list[list[str]]:
    """One `zfs set` per property: zfs-fuse takes a single property=value per call."""
    return [set_property(zfs, dataset, k, v) for k, v in props.items()]


def mount(zfs: str, dataset: str) -> list[str]:
    return [zfs, "mount", _dataset(dataset)]


def unmount(zfs: str, dataset: str) -> list[str]:
    return [zfs, "unmount", _dataset(dataset)]


def usage(zfs: str, command: str) -> list[str]:
    """`zfs COMMAND` with no operands prints the command's usage (flags) and exits 2."""
    return [zfs, command]


def pool_version(zpool: str) -> list[str]:
    return [zpool, "upgrade", "-v"]


def version(zfs: str) -> list[str]:
    return [zfs, "version"]
