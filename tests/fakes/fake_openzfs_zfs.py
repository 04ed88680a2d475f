"""FAKE OpenZFS `zfs` command, for tests only: zfs-fuse here has no `receive -s` / `send -t`.

It implements just the subcommands and flags stackferry's agent calls (agent/storage/zfs*.py)
with OpenZFS 2.x behaviour where it matters for resumable transfers:

- `receive -s` cut short keeps the bytes received so far and sets `receive_resume_token`
  on the target (a full stream into a new dataset leaves that dataset, with no snapshot);
- `send -t TOKEN` sends the rest of the stream from the token's offset;
- `receive -s` of that rest completes the snapshot; `receive -A` aborts the partial state;
- any other receive into a target with a partial state is refused, as OpenZFS does.

State lives in one directory (``--state DIR``, first argument): ``state.json`` (datasets,
snapshots with guids, resume states), ``live/`` (each dataset's files: its "mountpoint"),
``blobs/`` (each snapshot's contents, serialised) and ``partial/`` (bytes being received).
A "stream" is a JSON header line and the snapshot's blob from an offset: an incremental
stream carries the whole new snapshot, checked against its base guid like a real one.
A name without "/" given to `zfs create` makes a pool.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import random
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

USAGE = {
    "send": (
        "usage:\n"
        "\tsend [-DLPbcehnpsvw] [-i|-I snapshot] <snapshot>\n"
        "\tsend [-DnvPLecw] [-i snapshot|bookmark] <filesystem|volume|snapshot>\n"
        "\tsend [-nvPe] -t <receive_resume_token>\n"
    ),
    "receive": (
        "usage:\n"
        "\treceive [-FhMnsuv] [-o <property>=<value>] ... <filesystem|volume|snapshot>\n"
        "\treceive -A <filesystem|volume>\n"
    ),
    "snapshot": "usage:\n\tsnapshot [-r] [-o property=value] ... <filesystem|volume>@<snap> ...\n",
    "hold": "usage:\n\thold [-r] <tag> <snapshot> ...\n",
}
CHUNK = 1 << 20


class Fail(Exception):
    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


class State:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.file = root / "state.json"
        for sub in ("live", "blobs", "partial"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        self.data: dict[str, Any] = (
            json.loads(self.file.read_text())
            if self.file.exists()
            else {"datasets": {}, "snapshots": {}, "txg": 1}
        )

    @property
    def datasets(self) -> dict[str, dict[str, Any]]:
        return self.data["datasets"]  # type: ignore[no-any-return]

    @property
    def snapshots(self) -> dict[str, dict[str, Any]]:
        return self.data["snapshots"]  # type: ignore[no-any-return]

    def save(self) -> None:
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1))
        tmp.replace(self.file)

    def txg(self) -> int:
        self.data["txg"] += 1
        return int(self.data["txg"])

    def live(self, dataset: str) -> Path:
        return self.root / "live" / dataset.replace("/", "%")

    def add_dataset(self, name: str) -> dict[str, Any]:
        entry = {
            "guid": new_guid(),
            "createtxg": self.txg(),
            "creation": int(time.time()),
            "mountpoint": str(self.live(name)),
            "mounted": True,
            "canmount": "on",
            "resume": None,
        }
        self.datasets[name] = entry
        self.live(name).mkdir(parents=True, exist_ok=True)
        return entry

    def snapshots_of(self, dataset: str) -> list[str]:
        found = [n for n in self.snapshots if n.partition("@")[0] == dataset]
        return sorted(found, key=lambda n: self.snapshots[n]["createtxg"])

    def remove_dataset(self, name: str) -> None:
        for snap in self.snapshots_of(name):
            self.remove_snapshot(snap)
        resume = self.datasets.pop(name)["resume"]
        if resume:
            (self.root / "partial" / resume["partial"]).unlink(missing_ok=True)
        shutil.rmtree(self.live(name), ignore_errors=True)

    def remove_snapshot(self, name: str) -> None:
        entry = self.snapshots.pop(name)
        (self.root / "blobs" / entry["blob"]).unlink(missing_ok=True)


def new_guid() -> str:
    return str(random.getrandbits(63) | 1)


@contextlib.contextmanager
def locked(root: Path) -> Iterator[State]:
    """The state under an exclusive lock, saved when the block ends without an error."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = State(root)
        yield state
        state.save()


# -- snapshot contents -----------------------------------------------------------------------


def pack(directory: Path) -> bytes:
    """Every regular file under directory, in path order: "path\\0size\\n" then the bytes."""
    out = bytearray()
    for path in sorted(p for p in directory.rglob("*") if p.is_file() and not p.is_symlink()):
        data = path.read_bytes()
        out += f"{path.relative_to(directory)}\0{len(data)}\n".encode() + data
    return bytes(out)


def unpack(blob: bytes, directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    pos = 0
    while pos < len(blob):
        end = blob.index(b"\n", pos)
        name, _, size = blob[pos:end].decode().partition("\0")
        start, stop = end + 1, end + 1 + int(size)
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(blob[start:stop])
        pos = stop


# -- commands --------------------------------------------------------------------------------


def flags_and_operands(args: list[str], with_value: str = "") -> tuple[dict[str, str], list[str]]:
    """Short flags (combined or not; those in with_value take the next word) and operands."""
    flags: dict[str, str] = {}
    rest: list[str] = []
    i = 0
    while i < len(args):
        word = args[i]
        if word.startswith("-") and len(word) > 1 and not rest:
            for j, letter in enumerate(word[1:]):
                if letter in with_value:
                    value = word[j + 2 :] or args[i + 1]
                    i += 0 if word[j + 2 :] else 1
                    flags[letter] = value
                    break
                flags[letter] = ""
        else:
            rest.append(word)
        i += 1
    return flags, rest


def missing(name: str) -> Fail:
    return Fail(f"cannot open '{name}': dataset does not exist")


def prop_value(state: State, name: str, prop: str) -> str | None:
    if "@" in name:
        snap = state.snapshots[name]
        size = (state.root / "blobs" / snap["blob"]).stat().st_size
        common = {"type": "snapshot", "used": "0", "referenced": str(size)}
        values = {**common, "guid": snap["guid"], "createtxg": str(snap["createtxg"])}
        values["creation"] = str(snap["creation"])
        return values.get(prop, "-")
    ds = state.datasets[name]
    if ":" in prop:
        return str(ds.get("user", {}).get(prop, "-"))
    if prop.startswith("written@"):
        snaps = state.snapshots_of(name)
        return str(len(pack(state.live(name)))) if snaps else "-"
    resume = ds["resume"]
    values = {
        "type": "filesystem",
        "guid": ds["guid"],
        "createtxg": str(ds["createtxg"]),
        "creation": str(ds["creation"]),
        "mountpoint": ds["mountpoint"],
        "mounted": "yes" if ds["mounted"] else "no",
        "canmount": ds["canmount"],
        "used": str(len(pack(state.live(name)))),
        "referenced": str(len(pack(state.live(name)))),
        "available": str(1 << 30),
        "receive_resume_token": token_of(resume) if resume else "-",
    }
    return values.get(prop)


def names_in_scope(state: State, name: str, flags: dict[str, str]) -> list[str]:
    if "@" in name:
        return [name]
    depth = -1 if "r" in flags else int(flags.get("d", "0"))
    out = []
    for ds in sorted(state.datasets):
        level = ds.count("/") - name.count("/")
        inside = ds == name or ds.startswith(name + "/")
        if inside and (depth < 0 or level <= depth):
            out.append(ds)
            if depth < 0 or level < depth:
                out += state.snapshots_of(ds)
    return out


def cmd_get(state: State, args: list[str]) -> None:
    flags, rest = flags_and_operands(args, with_value="do")
    props, names = rest[0].split(","), rest[1:]
    errors = []
    for name in names:
        if name not in state.datasets and name not in state.snapshots:
            errors.append(f"cannot open '{name}': dataset does not exist")
            continue
        columns = flags.get("o", "name,property,value").split(",")
        for item in names_in_scope(state, name, flags):
            for prop in props:
                value = prop_value(state, item, prop)
                if value is not None:
                    # No inheritance here: a user property is "local" where it was set.
                    source = "local" if ":" in prop and value != "-" else "-"
                    row = {"name": item, "property": prop, "value": value, "source": source}
                    print("\t".join(row[c] for c in columns))
    if errors:
        raise Fail("\n".join(errors))


def cmd_list(state: State, args: list[str]) -> None:
    for name in sorted(state.datasets):
        ds = state.datasets[name]
        print(f"{name}\t{ds['mountpoint']}\t{'yes' if ds['mounted'] else 'no'}")


def cmd_create(state: State, args: list[str]) -> None:
    flags, (name,) = flags_and_operands(args)
    parts = name.split("/")
    for i in range(1, len(parts) + 1):
        ancestor = "/".join(parts[:i])
        if ancestor in state.datasets:
            continue
        if i < len(parts) and "p" not in flags and i > 1:
            raise Fail(f"cannot create '{name}': parent does not exist")
        state.add_dataset(ancestor)


def cmd_snapshot(state: State, args: list[str]) -> None:
    flags, names = flags_and_operands(args)
    todo = []
    for full in names:
        dataset, _, snap = full.partition("@")
        if dataset not in state.datasets:
            raise missing(dataset)
        scope = names_in_scope(state, dataset, {"r": ""}) if "r" in flags else [dataset]
        todo += [f"{ds}@{snap}" for ds in scope if "@" not in ds]
    txg = state.txg()
    for full in todo:
        if full in state.snapshots:
            raise Fail(f"cannot create snapshot '{full}': dataset already exists")
        blob_name = f"{new_guid()}.blob"
        blob = pack(state.live(full.partition("@")[0]))
        (state.root / "blobs" / blob_name).write_bytes(blob)
        state.snapshots[full] = {
            "guid": new_guid(),
            "createtxg": txg,
            "creation": int(time.time()),
            "blob": blob_name,
        }


def cmd_destroy(state: State, args: list[str]) -> None:
    flags, (name,) = flags_and_operands(args)
    if "@" in name:
        dataset, _, snap = name.partition("@")
        found = [s for s in state.snapshots if s == name]
        if "r" in flags:
            found += [
                s for s in state.snapshots if s.startswith(dataset + "/") and s.endswith("@" + snap)
            ]
        if not found:
            raise Fail("could not find any snapshots to destroy; check snapshot names.")
        for s in found:
            state.remove_snapshot(s)
        return
    if name not in state.datasets:
        raise missing(name)
    children = [d for d in state.datasets if d.startswith(name + "/")]
    if (children or state.snapshots_of(name)) and "r" not in flags:
        raise Fail(f"cannot destroy '{name}': filesystem has children")
    for ds in sorted([*children, name], reverse=True):
        state.remove_dataset(ds)


def cmd_rollback(state: State, args: list[str]) -> None:
    _, (name,) = flags_and_operands(args)
    if name not in state.snapshots:
        raise missing(name)
    dataset = name.partition("@")[0]
    snaps = state.snapshots_of(dataset)
    for later in snaps[snaps.index(name) + 1 :]:
        state.remove_snapshot(later)
    blob = (state.root / "blobs" / state.snapshots[name]["blob"]).read_bytes()
    unpack(blob, state.live(dataset))


def cmd_set(state: State, args: list[str]) -> None:
    assignment, name = args
    prop, _, value = assignment.partition("=")
    if name not in state.datasets:
        raise missing(name)
    if ":" in prop:  # a user property, e.g. the agent's stackferry:migration mark
        state.datasets[name].setdefault("user", {})[prop] = value
        return
    if prop not in ("mountpoint", "canmount", "readonly"):
        raise Fail(f"cannot set property for '{name}': fake does not know {prop}")
    state.datasets[name][prop] = value


def cmd_mount(state: State, args: list[str], mounted: bool) -> None:
    name = args[-1]
    if name not in state.datasets:
        raise missing(name)
    state.datasets[name]["mounted"] = mounted


# -- send / receive --------------------------------------------------------------------------


def token_of(resume: dict[str, Any]) -> str:
    fields = {k: resume[k] for k in ("toname", "toguid", "fromguid", "size")}
    fields["offset"] = resume["offset"]
    return "1-" + json.dumps(fields, sort_keys=True).encode().hex()


def parse_token(token: str) -> dict[str, Any]:
    try:
        return json.loads(bytes.fromhex(token.removeprefix("1-")))  # type: ignore[no-any-return]
    except ValueError:
        raise Fail("cannot resume send: 'token' is not a valid resume token") from None


def stream_plan(state: State, args: list[str]) -> tuple[dict[str, Any], bytes]:
    """The header and the whole payload of the stream `send args` produces."""
    flags, rest = flags_and_operands(args, with_value="itI")
    if "t" in flags:
        token = parse_token(flags["t"])
        snap = state.snapshots.get(token["toname"])
        if snap is None or snap["guid"] != token["toguid"]:
            raise Fail(f"cannot resume send: '{token['toname']}' is no longer the same snapshot")
        header = {**token}
        name = token["toname"]
    else:
        (name,) = rest
        if name not in state.snapshots:
            raise missing(name)
        base = flags.get("i") or flags.get("I") or ""
        if base.startswith("@"):
            base = name.partition("@")[0] + base
        if base and base not in state.snapshots:
            raise missing(base)
        header = {
            "toname": name,
            "toguid": state.snapshots[name]["guid"],
            "fromguid": state.snapshots[base]["guid"] if base else "",
            "offset": 0,
        }
    payload = (state.root / "blobs" / state.snapshots[name]["blob"]).read_bytes()
    header["size"] = len(payload)
    return header, payload


def cmd_send(root: Path, args: list[str]) -> None:
    with locked(root) as state:
        header, payload = stream_plan(state, args)
    flags, _ = flags_and_operands(args, with_value="itI")
    rest = payload[header["offset"] :]
    line = (json.dumps({"fake_openzfs_stream": 1, **header}) + "\n").encode()
    if "n" in flags:
        if "t" in flags:  # OpenZFS prints the token's fields first
            print("resume token contents:\nnvlist version: 0")
            print(f"\tbytes = {hex(header['offset'])}\n\ttoname = {header['toname']}")
        print(f"full\t{header['toname']}\t{len(line) + len(rest)}")
        print(f"size\t{len(line) + len(rest)}")
        return
    if sys.stdout.isatty():
        raise Fail("Error: Stream can not be written to a terminal.")
    out = sys.stdout.buffer
    out.write(line)
    for i in range(0, len(rest), CHUNK):
        out.write(rest[i : i + CHUNK])
    out.flush()


def read_header() -> dict[str, Any]:
    line = sys.stdin.buffer.readline(65536)
    try:
        header = json.loads(line)
        assert header.pop("fake_openzfs_stream") == 1
    except (ValueError, AssertionError, AttributeError, KeyError):
        raise Fail("cannot receive: invalid stream (bad magic number)") from None
    return header  # type: ignore[no-any-return]


def check_new_receive(state: State, target: str, header: dict[str, Any], force: bool) -> bool:
    """Raises unless the stream may start into target; True when it creates target."""
    ds = state.datasets.get(target)
    if ds is not None and ds["resume"]:
        raise Fail(
            f"cannot receive new filesystem stream: destination {target} contains "
            'partially-complete state from "zfs receive -s".'
        )
    if not header["fromguid"]:
        if ds is not None and not force:
            raise Fail(
                f"cannot receive new filesystem stream: destination '{target}' exists\n"
                "must specify -F to overwrite it"
            )
        parent = target.rpartition("/")[0]
        if parent not in state.datasets:
            raise Fail(f"cannot receive new filesystem stream: parent of {target} does not exist")
        return ds is None
    if ds is None:
        raise Fail(f"cannot receive incremental stream: destination '{target}' does not exist")
    guids = {state.snapshots[s]["guid"]: s for s in state.snapshots_of(target)}
    base = guids.get(header["fromguid"])
    newest = state.snapshots_of(target)[-1] if guids else ""
    if base is None or (base != newest and not force):
        raise Fail(
            f"cannot receive incremental stream: most recent snapshot of {target} does not\n"
            "match incremental source"
        )
    return False


def cmd_receive(root: Path, args: list[str]) -> None:
    flags, (target,) = flags_and_operands(args)
    if "A" in flags:
        with locked(root) as state:
            abort_partial(state, target)
        return
    header = read_header()
    resumable = "s" in flags
    with locked(root) as state:
        if header["offset"] == 0:
            creates = check_new_receive(state, target, header, "F" in flags)
            partial = f"{new_guid()}.part"
            (root / "partial" / partial).write_bytes(b"")
            if creates and resumable:  # OpenZFS creates the dataset as the receive starts
                state.add_dataset(target)["mounted"] = False
        else:
            ds = state.datasets.get(target)
            resume = ds["resume"] if ds else None
            if not resume or resume["toguid"] != header["toguid"]:
                raise Fail(f"cannot receive resume stream: {target} has no matching partial state")
            if resume["offset"] != header["offset"]:
                raise Fail(
                    f"cannot receive resume stream: {target} holds {resume['offset']} bytes, "
                    f"the stream starts at {header['offset']}"
                )
            creates, partial = resume["created"], resume["partial"]
    path = root / "partial" / partial
    stdin = cast(io.BufferedReader, sys.stdin.buffer)
    with open(path, "ab") as out:
        have = header["offset"]
        while have < header["size"]:
            data = stdin.read1(min(CHUNK, header["size"] - have))
            if not data:
                break
            out.write(data)
            out.flush()
            have += len(data)
    with locked(root) as state:
        if have < header["size"]:
            incomplete(state, target, header, partial, have, creates, resumable)
        finish_receive(state, target, header, path, "u" in flags)


def incomplete(
    state: State,
    target: str,
    header: dict[str, Any],
    partial: str,
    have: int,
    creates: bool,
    resumable: bool,
) -> None:
    if not resumable:
        (state.root / "partial" / partial).unlink(missing_ok=True)
        state.save()
        raise Fail("cannot receive new filesystem stream: incomplete stream")
    resume = {**header, "offset": have, "partial": partial, "created": creates}
    state.datasets[target]["resume"] = resume
    state.save()
    raise Fail(
        "cannot receive new filesystem stream: checksum mismatch or incomplete stream.\n"
        "Partially received snapshot is saved.\n"
        "A resuming stream can be generated on the sending system by running:\n"
        f"    zfs send -t {token_of(resume)}"
    )


def finish_receive(
    state: State, target: str, header: dict[str, Any], path: Path, unmounted: bool
) -> None:
    blob = path.read_bytes()
    if len(blob) != header["size"]:
        raise Fail("cannot receive: stream length mismatch")
    ds = state.datasets.get(target) or state.add_dataset(target)
    if not header["fromguid"]:
        for snap in state.snapshots_of(target):
            state.remove_snapshot(snap)
    else:
        base = next(
            s
            for s in state.snapshots_of(target)
            if state.snapshots[s]["guid"] == header["fromguid"]
        )
        cmd_rollback(state, [base])
    blob_name = f"{new_guid()}.blob"
    path.replace(state.root / "blobs" / blob_name)
    snap_name = header["toname"].partition("@")[2]
    state.snapshots[f"{target}@{snap_name}"] = {
        "guid": header["toguid"],
        "createtxg": state.txg(),
        "creation": int(time.time()),
        "blob": blob_name,
    }
    unpack(blob, state.live(target))
    ds["resume"] = None
    ds["mounted"] = not unmounted


def abort_partial(state: State, target: str) -> None:
    ds = state.datasets.get(target)
    if ds is None:
        raise missing(target)
    if not ds["resume"]:
        raise Fail(f"'{target}' does not have any resumable receive state to abort")
    resume = ds["resume"]
    (state.root / "partial" / resume["partial"]).unlink(missing_ok=True)
    ds["resume"] = None
    if resume["created"] and not state.snapshots_of(target):
        state.remove_dataset(target)


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "--state":
        print("usage: fake_openzfs_zfs.py --state DIR COMMAND ...", file=sys.stderr)
        return 2
    root, args = Path(argv[1]), argv[2:]
    if not args:
        print("usage: zfs command args ...", file=sys.stderr)
        return 2
    command, rest = args[0], args[1:]
    command = "receive" if command == "recv" else command
    if not rest and command in USAGE:
        print(USAGE[command], file=sys.stderr)
        return 2
    try:
        if command == "version":
            print("zfs-2.1.5-fake-openzfs\nzfs-kmod-2.1.5-fake-openzfs")
        elif command == "send":
            cmd_send(root, rest)
        elif command == "receive":
            cmd_receive(root, rest)
        else:
            with locked(root) as state:
                handlers = {
                    "get": cmd_get,
                    "list": cmd_list,
                    "create": cmd_create,
                    "snapshot": cmd_snapshot,
                    "destroy": cmd_destroy,
                    "rollback": cmd_rollback,
                    "set": cmd_set,
                    "mount": lambda s, a: cmd_mount(s, a, True),
                    "unmount": lambda s, a: cmd_mount(s, a, False),
                    "hold": lambda s, a: None,
                    "release": lambda s, a: None,
                }
                if command not in handlers:
                    raise Fail(f"fake openzfs: unsupported command {command!r}", 2)
                handlers[command](state, rest)
    except Fail as exc:
        print(str(exc), file=sys.stderr)
        return exc.code
    except BrokenPipeError:
        # The reader went away: point stdout at /dev/null so the exit flush does not fail.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print("warning: cannot send: signal received", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
