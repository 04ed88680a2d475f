"""The zfs storage backend: snapshots, dataset facts, and send / receive pipes.

Command lines come from zfs_argv (pure), run through agent/exec, and failures become
typed errors (zfs_errors). Features are detected once at start (zfs_parse), so the same
code runs on zfs-fuse 0.7 and OpenZFS 2.x.

Received datasets are left unmounted with canmount=noauto until ``mount`` at deploy
time: a mounted target could change between the bulk copy and the final incremental,
and zfs-fuse has no `receive -u` to prevent the mount in the first place.

The commands every part runs are in zfs_commands.py; the receive side, with what a
migration's receive creates and marks, in zfs_receive.py.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from stackferry.agent import errors, exec
from stackferry.agent.roots import split_snapshot, validate_dataset_name, validate_snapshot_name
from stackferry.agent.storage import zfs_argv as argv
from stackferry.agent.storage.zfs_commands import no_dash
from stackferry.agent.storage.zfs_parse import (
    ZfsFeatures,
    parse_estimate,
    parse_features,
    parse_pool_version,
    parse_resume_toname,
    to_int,
)
from stackferry.agent.storage.zfs_receive import RecordCreated, ZfsReceiving, no_record
from stackferry.agent.storage.zfs_stream import zfs_send_source
from stackferry.agent.streams import ByteSource
from stackferry.hostapi import DatasetInfo, SendEstimate, SnapshotInfo


class ZfsBackend(ZfsReceiving):
    name = "zfs"

    def __init__(
        self,
        zfs_binary: str = "zfs",
        zpool_binary: str = "zpool",
        record_created: RecordCreated = no_record,
    ) -> None:
        super().__init__(zfs_binary, record_created)
        self.zpool = zpool_binary
        self._features = self._detect_features()
        self._version = self._detect_version()

    # -- detection -----------------------------------------------------------------------

    def _usage(self, command: str) -> str:
        done = exec.run(argv.usage(self.zfs, command), check=False, timeout=30)
        return done.stdout + done.stderr

    def _detect_features(self) -> ZfsFeatures:
        return parse_features(
            self._usage("send"),
            self._usage("receive"),
            self._usage("snapshot"),
            self._usage("hold"),
        )

    def _detect_version(self) -> str:
        done = exec.run(argv.version(self.zfs), check=False, timeout=30)
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip().splitlines()[0]
        pool = exec.run(argv.pool_version(self.zpool), check=False, timeout=30)
        return parse_pool_version(pool.stdout) or "unknown"

    def version(self) -> str:
        return self._version

    def features(self) -> dict[str, bool]:
        return self._features.as_dict()

    # -- snapshots -----------------------------------------------------------------------

    def create_snapshot(
        self, datasets: Sequence[str], name: str, recursive: bool
    ) -> list[SnapshotInfo]:
        validate_snapshot_name(name)
        for ds in datasets:
            validate_dataset_name(ds)
        missing = [ds for ds in datasets if ds not in self._props(datasets, ["guid"])]
        if missing:
            raise errors.NotFound(f"cannot snapshot: dataset {', '.join(missing)} does not exist")
        unique = list(dict.fromkeys(datasets))
        if len(unique) == 1 or self._features.multi_snapshot:
            names = [f"{ds}@{name}" for ds in unique]
            self._run(argv.snapshot_create(self.zfs, names, recursive), "zfs snapshot")
        else:
            self._snapshot_via_ancestor(unique, name, recursive)
        return self.list_snapshots(unique, name, recursive)

    def _snapshot_via_ancestor(self, datasets: list[str], name: str, recursive: bool) -> None:
        """zfs-fuse takes one name per `zfs snapshot`: snapshot the common ancestor with -r
        (atomic), then destroy the snapshots of datasets nobody asked for."""
        ancestor = os.path.commonpath(datasets)
        if not ancestor:
            raise errors.FailedPrecondition(
                "this zfs cannot snapshot datasets of different pools atomically: "
                + ", ".join(datasets)
            )
        self._run(argv.snapshot_create(self.zfs, [f"{ancestor}@{name}"], True), "zfs snapshot")
        wanted = set(datasets)
        created = self._props([ancestor], ["guid"], depth=-1)
        for full in created:
            ds, _, snap = full.partition("@")
            covered = ds in wanted or (recursive and any(ds.startswith(w + "/") for w in wanted))
            if snap == name and not covered:
                self._run(argv.snapshot_destroy(self.zfs, full, False), "zfs destroy")

    def list_snapshots(
        self, datasets: Sequence[str], name: str | None, recursive: bool
    ) -> list[SnapshotInfo]:
        if name:
            validate_snapshot_name(name)
        rows = self._props(datasets, argv.SNAPSHOT_PROPS, depth=-1 if recursive else 1)
        missing = [ds for ds in datasets if ds not in rows]
        if missing:
            raise errors.NotFound(f"dataset {', '.join(missing)} does not exist")
        found: list[tuple[int, SnapshotInfo]] = []
        for full, props in rows.items():
            ds, sep, snap = full.partition("@")
            if not sep or (name and snap != name) or (not recursive and ds not in datasets):
                continue
            info = SnapshotInfo(
                dataset=ds,
                name=snap,
                guid=props.get("guid", ""),
                created_unix=to_int(props.get("creation", "0")),
                used_bytes=to_int(props.get("used", "0")),
                referenced_bytes=to_int(props.get("referenced", "0")),
            )
            found.append((to_int(props.get("createtxg", "0")), info))
        found.sort(key=lambda item: (_rank(item[1].dataset, datasets), item[1].dataset, item[0]))
        return [info for _, info in found]

    def destroy_snapshot(self, datasets: Sequence[str], name: str, recursive: bool) -> None:
        validate_snapshot_name(name)
        for ds in datasets:
            self._run(argv.snapshot_destroy(self.zfs, f"{ds}@{name}", recursive), "zfs destroy")

    def hold(self, datasets: Sequence[str], name: str, tag: str, recursive: bool) -> None:
        self._require_holds()
        snaps = [f"{ds}@{name}" for ds in datasets]
        self._run(argv.hold(self.zfs, tag, snaps, recursive), "zfs hold")

    def release(self, datasets: Sequence[str], name: str, tag: str, recursive: bool) -> None:
        self._require_holds()
        snaps = [f"{ds}@{name}" for ds in datasets]
        self._run(argv.release(self.zfs, tag, snaps, recursive), "zfs release")

    def _require_holds(self) -> None:
        if not self._features.holds:
            raise errors.FailedPrecondition("snapshot holds are not supported by this zfs")

    # -- datasets ------------------------------------------------------------------------

    def get_datasets(self, names: Sequence[str], recursive: bool) -> list[DatasetInfo]:
        # zfs-fuse does not know receive_resume_token: asking for it would fail the whole get.
        wanted = [*argv.DATASET_PROPS, *(["receive_resume_token"] if self._features.resume else [])]
        rows = self._props(names, wanted, depth=-1 if recursive else None)
        infos = [DatasetInfo(name=n, exists=False) for n in names if n not in rows]
        for ds, props in rows.items():
            if props.get("type") in ("filesystem", "volume"):
                infos.append(_dataset_info(ds, props))
        order = {n: i for i, n in enumerate(names)}
        return sorted(infos, key=lambda d: (order.get(d.name, len(order)), d.name))

    def dataset_for_path(self, path: str) -> DatasetInfo | None:
        done = self._run(argv.list_filesystems(self.zfs), "zfs list")
        best, best_len = "", -1
        for line in done.stdout.splitlines():
            parts = line.split("\t")
            if len(parts) != 3 or parts[2] != "yes" or not parts[1].startswith("/"):
                continue
            mountpoint = parts[1].rstrip("/") or "/"
            inside = path == mountpoint or path.startswith(mountpoint.rstrip("/") + "/")
            if inside and len(mountpoint) > best_len:
                best, best_len = parts[0], len(mountpoint)
        if not best:
            return None
        return self.get_datasets([best], recursive=False)[0]

    def mount(self, dataset: str, mountpoint: str) -> None:
        if not mountpoint.startswith("/"):
            raise errors.InvalidArgument(f"mountpoint {mountpoint!r} must be an absolute path")
        props = self._props([dataset], ["mounted", "mountpoint"]).get(dataset)
        if props is None:
            raise errors.NotFound(f"dataset {dataset} does not exist")
        if props.get("mounted") == "yes" and props.get("mountpoint") == mountpoint:
            return
        settings = {"mountpoint": mountpoint, "canmount": "on"}
        for args in argv.set_properties(self.zfs, dataset, settings):
            self._run(args, "zfs set")
        if self._props([dataset], ["mounted"])[dataset].get("mounted") != "yes":
            self._run(argv.mount(self.zfs, dataset), f"zfs mount {dataset}")

    # -- send ----------------------------------------------------------------------------

    def _require_snapshot(self, snapshot: str) -> dict[str, str]:
        split_snapshot(snapshot)
        props = self._props([snapshot], argv.SNAPSHOT_PROPS).get(snapshot)
        if props is None:
            raise errors.NotFound(f"snapshot {snapshot} does not exist")
        return props

    def _full_base(self, snapshot: str, base: str) -> str:
        return snapshot.partition("@")[0] + base if base.startswith("@") else base

    def estimate_send(
        self, snapshot: str, base: str | None, resume_token: str | None = None
    ) -> SendEstimate:
        if resume_token:
            return SendEstimate(self._resume_dry_run(snapshot, resume_token), "zfs send -nvP -t")
        props = self._require_snapshot(snapshot)
        if base:
            self._require_snapshot(self._full_base(snapshot, base))
        if self._features.send_estimate:
            done = self._run(argv.send_estimate(self.zfs, snapshot, base), "zfs send -nvP")
            size = parse_estimate(done.stdout + "\n" + done.stderr)
            if size is not None:
                return SendEstimate(size, "zfs send -nvP")
        if base:
            base_name = self._full_base(snapshot, base).partition("@")[2]
            written = (
                self._props([snapshot], [f"written@{base_name}"]) if self._has_written() else {}
            )
            value = written.get(snapshot, {}).get(f"written@{base_name}", "")
            if value.isdigit():
                return SendEstimate(int(value), "properties")
        return SendEstimate(to_int(props.get("referenced", "0")), "properties")

    def _resume_dry_run(self, snapshot: str, token: str) -> int:
        """Bytes left to send for token, after checking that the token continues snapshot
        (the caller checked snapshot against the allowed roots; the token names its own)."""
        if not self._features.resume:
            raise errors.FailedPrecondition("resumable send (-t) is not supported by this zfs")
        done = self._run(argv.send_estimate_resume(self.zfs, token), "zfs send -nvP -t")
        output = done.stdout + "\n" + done.stderr
        toname = parse_resume_toname(output)
        if toname != snapshot:
            raise errors.InvalidArgument(
                f"the resume token continues {toname or 'an unknown snapshot'}, not {snapshot}"
            )
        return parse_estimate(output) or 0

    def _has_written(self) -> bool:
        # `written@snap` arrived with OpenZFS; `send -nvP` arrived earlier, so without the
        # estimate flag there is no written property either.
        return self._features.send_estimate

    def open_send(
        self, snapshot: str, base: str | None, resume_token: str | None = None
    ) -> ByteSource:
        if resume_token:
            self._resume_dry_run(snapshot, resume_token)
            return zfs_send_source(argv.send_resume(self.zfs, resume_token), f"-t {snapshot}")
        self._require_snapshot(snapshot)
        if base:
            self._require_snapshot(self._full_base(snapshot, base))
        what = f"{snapshot} (incremental from {base})" if base else snapshot
        return zfs_send_source(argv.send(self.zfs, snapshot, base), what)


def _rank(dataset: str, requested: Sequence[str]) -> int:
    """Results follow the caller's order: a child sorts with the first requested ancestor."""
    for i, top in enumerate(requested):
        if dataset == top or dataset.startswith(top + "/"):
            return i
    return len(requested)


def _dataset_info(name: str, props: dict[str, str]) -> DatasetInfo:
    return DatasetInfo(
        name=name,
        exists=True,
        mountpoint=props.get("mountpoint", ""),
        mounted=props.get("mounted") == "yes",
        used_bytes=to_int(props.get("used", "0")),
        available_bytes=to_int(props.get("available", "0")),
        referenced_bytes=to_int(props.get("referenced", "0")),
        guid=props.get("guid", ""),
        receive_resume_token=no_dash(props.get("receive_resume_token", "-")),
    )
