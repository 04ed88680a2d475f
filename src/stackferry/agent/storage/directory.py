"""A plain-directory storage backend: tar streams, for hosts without zfs (and benchmarks).

Layout under ``base`` (``<state_dir>/directory`` by default):

    datasets/<dataset>              the live data of dataset "pool/app" is datasets/pool/app
    snapshots/<dataset>/@<name>/    one snapshot: data/ (a copy) and meta.json (name, guid, time)
    incoming/<random>/              a receive in progress; renamed into place on commit
    marks/<dataset>@migration       the id of the migration whose receive created the dataset

A dataset is a directory; it contains its children's directories, and a snapshot copies
the whole tree. A send is a tar stream of ``meta.json`` and ``data/`` of one snapshot.
There is no incremental stream: a migration with this backend copies with the stack
stopped. A receive untars into ``incoming/``, then renames ``data/`` into place as the
dataset and records the snapshot as a hard-linked tree (the target's snapshot is not
protected from in-place writes to the dataset: it names what was received).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from stackferry.agent import exec as proc
from stackferry.agent.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from stackferry.agent.process_pipes import ProcessSink, ProcessSource
from stackferry.agent.roots import split_snapshot, validate_dataset_name, validate_snapshot_name
from stackferry.agent.streams import ByteSink, ByteSource, Received
from stackferry.hostapi import DatasetInfo, SendEstimate, SnapshotInfo

META = "meta.json"
DATA = "data"
TAR_BLOCKING = "2048"  # 512-byte blocks: 1 MiB records instead of 10 KiB, ten times fewer syscalls


def _no_record(migration_id: str, kind: str, name: str) -> None:
    return None


class DirectoryBackend:
    name = "directory"

    def __init__(
        self,
        base: str | Path,
        tar_binary: str = "tar",
        record_created: Callable[[str, str, str], None] = _no_record,
    ) -> None:
        self.base = Path(base)
        self.tar = tar_binary
        self._record_created = record_created
        for sub in ("datasets", "snapshots", "incoming", "marks"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)

    # --- paths -------------------------------------------------------------------------

    def dataset_dir(self, dataset: str) -> Path:
        return self.base / "datasets" / validate_dataset_name(dataset)

    def snapshot_dir(self, dataset: str, name: str) -> Path:
        validate_snapshot_name(name)
        return self.base / "snapshots" / validate_dataset_name(dataset) / f"@{name}"

    def _require_dataset(self, dataset: str) -> Path:
        path = self.dataset_dir(dataset)
        if not path.is_dir():
            raise NotFound(f"dataset {dataset!r} does not exist (no directory {path})")
        return path

    def _require_snapshot(self, full: str) -> Path:
        dataset, name = split_snapshot(full)
        path = self.snapshot_dir(dataset, name)
        if not (path / META).is_file():
            raise NotFound(f"snapshot {full!r} does not exist")
        return path

    # --- information -------------------------------------------------------------------

    def version(self) -> str:
        return proc.run([self.tar, "--version"]).stdout.splitlines()[0]

    def features(self) -> dict[str, bool]:
        return dict.fromkeys(
            ("send_estimate", "resume", "compressed", "raw", "receive_unmounted", "holds"), False
        )

    def get_datasets(self, names: Sequence[str], recursive: bool) -> list[DatasetInfo]:
        out = []
        for name in names:
            path = self.dataset_dir(name)
            found = [name]
            if recursive and path.is_dir():
                found += sorted(
                    f"{name}/{p.relative_to(path)}" for p in path.rglob("*") if p.is_dir()
                )
            out += [self._dataset_info(n) for n in found]
        return out

    def _dataset_info(self, name: str) -> DatasetInfo:
        path = self.dataset_dir(name)
        if not path.is_dir():
            return DatasetInfo(name, exists=False)
        used = _tree_size(path)
        free = shutil.disk_usage(path).free
        return DatasetInfo(name, True, str(path), True, used, free, used)

    def dataset_for_path(self, path: str) -> DatasetInfo | None:
        """The "pool/name" dataset (first two levels under datasets/) holding ``path``."""
        try:
            rel = Path(os.path.realpath(path)).relative_to(os.path.realpath(self.base / "datasets"))
        except ValueError:
            return None
        if len(rel.parts) < 2:
            return None
        return self._dataset_info("/".join(rel.parts[:2]))

    def estimate_send(
        self, snapshot: str, base: str | None, resume_token: str | None = None
    ) -> SendEstimate:
        _refuse_incremental(base)
        if resume_token:
            raise FailedPrecondition("the directory backend cannot resume a send")
        return SendEstimate(_tree_size(self._require_snapshot(snapshot)), "properties")

    # --- snapshots ---------------------------------------------------------------------

    def create_snapshot(
        self, datasets: Sequence[str], name: str, recursive: bool
    ) -> list[SnapshotInfo]:
        for dataset in datasets:
            self._require_dataset(dataset)
            if self.snapshot_dir(dataset, name).exists():
                raise AlreadyExists(f"snapshot {dataset}@{name} already exists")
        return [self._copy_snapshot(dataset, name) for dataset in datasets]

    def _copy_snapshot(self, dataset: str, name: str) -> SnapshotInfo:
        final = self.snapshot_dir(dataset, name)
        tmp = final.with_name(f".{final.name}.{secrets.token_hex(4)}")
        tmp.mkdir(parents=True)
        proc.run(["cp", "-a", "--reflink=auto", f"{self.dataset_dir(dataset)}/.", str(tmp / DATA)])
        info = SnapshotInfo(dataset, name, str(secrets.randbits(63)), int(time.time()))
        _write_meta(tmp, info)
        tmp.rename(final)
        return self._snapshot_info(dataset, name)

    def list_snapshots(
        self, datasets: Sequence[str], name: str | None, recursive: bool
    ) -> list[SnapshotInfo]:
        out = []
        for dataset in datasets:
            root = self.base / "snapshots" / validate_dataset_name(dataset)
            metas = root.rglob(f"@*/{META}") if recursive else root.glob(f"@*/{META}")
            for meta in sorted(metas):
                ds = str(meta.parent.parent.relative_to(self.base / "snapshots"))
                snap = meta.parent.name[1:]
                if name in (None, "", snap):
                    out.append(self._snapshot_info(ds, snap))
        return out

    def _snapshot_info(self, dataset: str, name: str) -> SnapshotInfo:
        path = self.snapshot_dir(dataset, name)
        meta = json.loads((path / META).read_text())
        size = _tree_size(path / DATA)
        return SnapshotInfo(dataset, name, meta["guid"], meta["created_unix"], size, size)

    def destroy_snapshot(self, datasets: Sequence[str], name: str, recursive: bool) -> None:
        for dataset in datasets:
            path = self._require_snapshot(f"{dataset}@{name}")
            shutil.rmtree(path)

    def hold(self, datasets: Sequence[str], name: str, tag: str, recursive: bool) -> None:
        raise FailedPrecondition("the directory backend has no snapshot holds")

    def release(self, datasets: Sequence[str], name: str, tag: str, recursive: bool) -> None:
        raise FailedPrecondition("the directory backend has no snapshot holds")

    # --- streams -----------------------------------------------------------------------

    def open_send(
        self, snapshot: str, base: str | None, resume_token: str | None = None
    ) -> ByteSource:
        _refuse_incremental(base)
        if resume_token:
            raise FailedPrecondition("the directory backend cannot resume a send")
        path = self._require_snapshot(snapshot)
        argv = [self.tar, "-b", TAR_BLOCKING, "-C", str(path), "-cf", "-", META, DATA]
        return ProcessSource(proc.spawn(argv, stdout=True))

    def check_receive(
        self, target: str, base_guid: str | None, allow_overwrite: bool, resume: bool = False
    ) -> None:
        if resume:
            raise FailedPrecondition("the directory backend cannot resume a receive")
        if "/" not in validate_dataset_name(target):
            raise InvalidArgument(f"refusing to receive into the pool root {target!r}")
        _refuse_incremental(base_guid)
        if self.dataset_dir(target).exists() and not allow_overwrite:
            raise AlreadyExists(
                f"dataset {target!r} already exists; refusing to overwrite it "
                "(allow_overwrite replaces it)"
            )

    def open_receive(
        self,
        target: str,
        base_guid: str | None,
        allow_overwrite: bool,
        resumable: bool = False,
        resume: bool = False,
        migration_id: str = "",
    ) -> ByteSink:
        self.check_receive(target, base_guid, allow_overwrite, resume)
        if resumable:
            raise FailedPrecondition("the directory backend cannot resume a receive")
        if not self.dataset_dir(target).exists():
            self._record_created(migration_id, "dataset", target)
        work = self.base / "incoming" / secrets.token_hex(8)
        work.mkdir()
        try:
            argv = [self.tar, "-B", "-b", TAR_BLOCKING, "-C", str(work), "-xf", "-"]
            process = proc.spawn(argv, stdin=True)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        return ProcessSink(
            process,
            on_commit=lambda: self._place(work, target, allow_overwrite, migration_id),
            on_abort=lambda: shutil.rmtree(work, ignore_errors=True),
        )

    def _place(self, work: Path, target: str, allow_overwrite: bool, migration_id: str) -> Received:
        """Moves a complete received tree into place as ``target`` and its snapshot, marked
        with migration_id when it is new; a tree that cannot be placed is removed."""
        try:
            new = not self.dataset_dir(target).exists()
            received = self._move_into_place(work, target, allow_overwrite)
            if new and migration_id:
                mark = self._mark_path(target)
                mark.parent.mkdir(parents=True, exist_ok=True)
                mark.write_text(migration_id)
            return received
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise

    def _move_into_place(self, work: Path, target: str, allow_overwrite: bool) -> Received:
        try:
            meta = json.loads((work / META).read_text())
            name = validate_snapshot_name(meta["name"])
            if not (work / DATA).is_dir():
                raise InvalidArgument("the stream holds no data/ directory")
        except (OSError, ValueError, KeyError) as exc:
            raise InvalidArgument(f"not a directory-backend stream: {exc}") from exc
        dest = self.dataset_dir(target)
        if dest.exists():
            self.check_receive(target, None, allow_overwrite)
            shutil.rmtree(dest)
            shutil.rmtree(self.base / "snapshots" / target, ignore_errors=True)
        snap = self.snapshot_dir(target, name)
        snap.mkdir(parents=True)
        (work / DATA).rename(snap / DATA)
        (work / META).rename(snap / META)
        dest.parent.mkdir(parents=True, exist_ok=True)
        proc.run(["cp", "-al", str(snap / DATA), str(dest)])
        work.rmdir()
        return Received(f"{target}@{name}", meta["guid"])

    # --- ownership ---------------------------------------------------------------------

    def _mark_path(self, dataset: str) -> Path:
        return self.base / "marks" / f"{validate_dataset_name(dataset)}@migration"

    def marks(self, dataset: str) -> dict[str, str] | None:
        if not self.dataset_dir(dataset).is_dir():
            return None
        mark = self._mark_path(dataset)
        return {dataset: mark.read_text().strip() if mark.is_file() else ""}

    def destroy(self, dataset: str) -> None:
        if "/" not in validate_dataset_name(dataset):
            raise InvalidArgument(f"refusing to destroy the pool root {dataset!r}")
        shutil.rmtree(self.dataset_dir(dataset), ignore_errors=True)
        shutil.rmtree(self.base / "snapshots" / dataset, ignore_errors=True)
        self._mark_path(dataset).unlink(missing_ok=True)

    def mount(self, dataset: str, mountpoint: str) -> None:
        """ "Mounts" by a symlink at ``mountpoint`` (absent or an empty directory)."""
        source = self._require_dataset(dataset)
        link = Path(mountpoint)
        if link.is_symlink():
            link.unlink()
        elif link.is_dir():
            if any(link.iterdir()):
                raise AlreadyExists(f"mountpoint {mountpoint} is a non-empty directory")
            link.rmdir()
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(source, target_is_directory=True)


def _refuse_incremental(base: str | None) -> None:
    if base:
        raise FailedPrecondition(
            "the directory backend has no incremental streams: send a full snapshot"
        )


def _write_meta(path: Path, info: SnapshotInfo) -> None:
    meta = {"name": info.name, "guid": info.guid, "created_unix": info.created_unix}
    (path / META).write_text(json.dumps(meta))


def _tree_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                continue
    return total
