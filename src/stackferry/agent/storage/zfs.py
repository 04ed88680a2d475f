"""The zfs storage backend: snapshots, dataset facts, and send / receive pipes.

Command lines come from zfs_argv (pure), run through agent/exec, and failures become
typed errors (zfs_errors). Features are detected once at start (zfs_parse), so the same
code runs on zfs-fuse 0.7 and OpenZFS 2.x.

Received datasets are left unmounted with canmount=noauto until ``mount`` at deploy
time: a mounted target could change between the bulk copy and the final incremental,
and zfs-fuse has no `receive -u` to prevent the mount in the first place.

Ownership: a dataset a migration creates here (a full receive, or a parent it needed) is
recorded in the agent's journal before it is created and gets the user property
stackferry:migration=<id> once it exists (zfs-fuse has no `receive -o`: it is set right
after the receive). An undo or a Discard destroys only a dataset that this very receive
created, or that carries the migration's own mark; one receive at a time per target, so a
second receive into the same target is refused instead of racing the first (the loser's
undo once destroyed the winner's freshly received dataset).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence

import structlog

from stackferry.agent import errors, exec
from stackferry.agent.roots import split_snapshot, validate_dataset_name, validate_snapshot_name
from stackferry.agent.storage import zfs_argv as argv
from stackferry.agent.storage.zfs_errors import zfs_error
from stackferry.agent.storage.zfs_parse import (
    ZfsFeatures,
    parse_estimate,
    parse_features,
    parse_pool_version,
    parse_properties,
    parse_resume_toname,
    to_int,
)
from stackferry.agent.storage.zfs_stream import ReceivePlan, zfs_receive_sink, zfs_send_source
from stackferry.agent.streams import ByteSink, ByteSource, Received
from stackferry.hostapi import DatasetInfo, SendEstimate, SnapshotInfo

log = structlog.get_logger(__name__)

_MISSING = "does not exist"
MARK = "stackferry:migration"
# How long a receive waits for an earlier receive of its own migration into the same target
# to finish its abort (zfs-fuse's EOF grace, then the destroy of the partial dataset).
SAME_MIGRATION_WAIT_SECONDS = 120.0

# (migration_id, kind, name): records in the journal that a migration creates a thing.
RecordCreated = Callable[[str, str, str], None]


def _no_record(migration_id: str, kind: str, name: str) -> None:
    return None


class ZfsBackend:
    name = "zfs"

    def __init__(
        self,
        zfs_binary: str = "zfs",
        zpool_binary: str = "zpool",
        record_created: RecordCreated = _no_record,
    ) -> None:
        self.zfs = zfs_binary
        self.zpool = zpool_binary
        self._record_created = record_created
        self._receiving: dict[str, str] = {}  # target -> migration id of its running receive
        self._receiving_changed = threading.Condition()
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

    # -- helpers -------------------------------------------------------------------------

    def _run(self, args: list[str], action: str) -> exec.Result:
        try:
            return exec.run(args)
        except errors.CommandFailed as exc:
            raise zfs_error(exc, action) from exc

    def _props(
        self, names: Sequence[str], props: Sequence[str], depth: int | None = None
    ) -> dict[str, dict[str, str]]:
        """Properties of names; a name that does not exist is simply absent from the result."""
        done = exec.run(argv.get_properties(self.zfs, names, props, depth), check=False)
        if done.returncode != 0:
            others = [ln for ln in done.stderr.splitlines() if ln.strip() and _MISSING not in ln]
            if others:
                raise zfs_error(
                    errors.CommandFailed(done.argv, done.returncode, done.stderr), "zfs get"
                )
        return parse_properties(done.stdout)

    def _exists(self, name: str) -> bool:
        return name in self._props([name], ["guid"])

    def _snapshots_of(self, dataset: str) -> dict[str, str]:
        """Snapshot short name -> guid, oldest first."""
        rows = self._props([dataset], argv.SNAPSHOT_PROPS, depth=1)
        snaps = [(n, p) for n, p in rows.items() if n.startswith(dataset + "@")]
        snaps.sort(key=lambda item: to_int(item[1].get("createtxg", "0")))
        return {n.partition("@")[2]: p.get("guid", "") for n, p in snaps}

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

    # -- receive -------------------------------------------------------------------------

    def check_receive(
        self, target: str, base_guid: str | None, allow_overwrite: bool, resume: bool = False
    ) -> None:
        self._check_receive(target, base_guid, allow_overwrite, resume)

    def _resume_token(self, dataset: str) -> str:
        """The dataset's receive_resume_token ("" when none, or when this zfs cannot resume)."""
        if not self._features.resume:
            return ""
        props = self._props([dataset], ["receive_resume_token"]).get(dataset, {})
        return _no_dash(props.get("receive_resume_token", "-"))

    def _check_receive(
        self, target: str, base_guid: str | None, allow_overwrite: bool, resume: bool = False
    ) -> tuple[bool, dict[str, str], str]:
        """Returns (target exists, its snapshots name -> guid, its resume token) once the
        receive looks possible."""
        validate_dataset_name(target)
        if "/" not in target:
            raise errors.InvalidArgument(
                f"refusing to receive into pool root {target!r}: name a dataset below it"
            )
        pool = target.split("/")[0]
        if not self._exists(pool):
            raise errors.NotFound(f"pool {pool} does not exist on this host")
        exists = self._exists(target)
        snapshots = self._snapshots_of(target) if exists else {}
        token = self._resume_token(target) if exists else ""
        if resume:
            # The base and the target were checked when the partial receive started.
            if not self._features.resume:
                raise errors.FailedPrecondition("resumable receive (-s) is not supported here")
            if not token:
                raise errors.FailedPrecondition(f"{target} holds no partial receive to resume")
            return exists, snapshots, token
        if token and not allow_overwrite:
            raise errors.FailedPrecondition(
                f"{target} holds a partial receive (receive_resume_token is set): resume it "
                "with that token, or pass allow_overwrite to discard it"
            )
        if token:  # open_receive discards the partial state first: judge what stays
            return exists, snapshots, token
        if not base_guid:
            if exists and not allow_overwrite:
                raise errors.AlreadyExists(
                    f"refusing to overwrite existing dataset {target}; pass allow_overwrite"
                )
            return exists, snapshots, ""
        if not exists:
            raise errors.FailedPrecondition(
                f"incremental stream needs base snapshot guid {base_guid} on {target}, "
                f"but {target} does not exist"
            )
        by_guid = {guid: name for name, guid in snapshots.items()}
        if base_guid not in by_guid:
            raise errors.FailedPrecondition(
                f"{target} has no snapshot with the base guid {base_guid} "
                f"(it has {', '.join(f'@{n}={g}' for n, g in snapshots.items()) or 'none'})"
            )
        newest = list(snapshots)[-1]
        if newest != by_guid[base_guid] and not allow_overwrite:
            raise errors.FailedPrecondition(
                f"{target}@{newest} is newer than the base {target}@{by_guid[base_guid]} "
                f"(guid {base_guid}); pass allow_overwrite to roll back"
            )
        return exists, snapshots, ""

    def open_receive(
        self,
        target: str,
        base_guid: str | None,
        allow_overwrite: bool,
        resumable: bool = False,
        resume: bool = False,
        migration_id: str = "",
    ) -> ByteSink:
        self._start_receiving(target, migration_id)
        try:
            return self._open_receive(
                target, base_guid, allow_overwrite, resumable, resume, migration_id
            )
        except BaseException:
            self._stop_receiving(target)
            raise

    def _start_receiving(self, target: str, migration_id: str) -> None:
        """Registers the receive into target. Another migration's receive there is refused at
        once; one of the same migration is an earlier attempt still being torn down (a
        resumed controller cancelled it), so it is waited for, a while."""
        deadline = time.monotonic() + SAME_MIGRATION_WAIT_SECONDS
        with self._receiving_changed:
            while True:
                running = [
                    (t, h)
                    for t, h in self._receiving.items()
                    if t == target or t.startswith(target + "/") or target.startswith(t + "/")
                ]
                if not running:
                    break
                busy, holder = running[0]
                left = deadline - time.monotonic()
                if holder != migration_id or left <= 0:
                    who = f"migration {holder}" if holder else "a call without a migration id"
                    raise errors.AlreadyExists(
                        f"a receive into {busy} is already running (for {who}); "
                        "one receive at a time per target"
                    )
                self._receiving_changed.wait(left)
            self._receiving[target] = migration_id

    def _stop_receiving(self, target: str) -> None:
        with self._receiving_changed:
            self._receiving.pop(target, None)
            self._receiving_changed.notify_all()

    def _open_receive(
        self,
        target: str,
        base_guid: str | None,
        allow_overwrite: bool,
        resumable: bool,
        resume: bool,
        migration_id: str,
    ) -> ByteSink:
        exists, snapshots, token = self._check_receive(target, base_guid, allow_overwrite, resume)
        if token and not resume:
            self._run(argv.receive_abort(self.zfs, target), "zfs receive -A")
            exists, snapshots, _ = self._check_receive(target, base_guid, allow_overwrite)
        keep_partial = (resumable or resume) and self._features.resume
        plan = ReceivePlan(
            target=target,
            full=not exists,
            snapshots_before=snapshots,
            resumable=keep_partial,
            migration_id=migration_id,
        )
        if plan.full:
            self._record_created(migration_id, "dataset", target)
        plan.created_parents = self._create_parents(target, migration_id)
        args = argv.receive(
            self.zfs,
            target,
            force=allow_overwrite,
            unmounted=self._features.receive_unmounted,
            resumable=keep_partial,
        )

        def settle(plan: ReceivePlan) -> Received:
            try:
                return self._settle_receive(plan)
            finally:
                self._stop_receiving(target)

        def undo(plan: ReceivePlan) -> None:
            try:
                self._undo_receive(plan)
            finally:
                self._stop_receiving(target)

        try:
            return zfs_receive_sink(args, plan, settle, undo)
        except errors.AgentError:
            self._undo_receive(plan)
            raise

    def _create_parents(self, target: str, migration_id: str) -> list[str]:
        parts = target.split("/")
        ancestors = ["/".join(parts[:i]) for i in range(2, len(parts))]
        existing = self._props(ancestors, ["guid"]) if ancestors else {}
        missing = [a for a in ancestors if a not in existing]
        for parent in missing:
            self._record_created(migration_id, "dataset", parent)
        if missing:
            self._run(argv.create_with_parents(self.zfs, missing[-1]), "zfs create")
        if migration_id:
            for parent in missing:
                self._run(argv.set_property(self.zfs, parent, MARK, migration_id), "zfs set")
        return missing

    # -- ownership -----------------------------------------------------------------------

    def marks(self, dataset: str) -> dict[str, str] | None:
        """The stackferry:migration mark set on dataset and on each dataset below it ("" for
        none, or one only inherited from above); None when dataset does not exist."""
        done = exec.run(argv.get_property_sources(self.zfs, dataset, MARK), check=False)
        if done.returncode != 0:
            if _MISSING in done.stderr:
                return None
            raise zfs_error(
                errors.CommandFailed(done.argv, done.returncode, done.stderr), "zfs get"
            )
        found: dict[str, str] = {}
        for line in done.stdout.splitlines():
            parts = line.split("\t")
            if len(parts) == 3 and "@" not in parts[0]:
                name, value, source = parts
                found[name] = value if source == "local" and value != "-" else ""
        return found

    def destroy(self, dataset: str) -> None:
        """Destroys dataset, its snapshots and everything below it (a Discard checked marks)."""
        validate_dataset_name(dataset)
        if "/" not in dataset:
            raise errors.InvalidArgument(f"refusing to destroy pool root {dataset!r}")
        self._destroy_eventually(dataset)

    def _settle_receive(self, plan: ReceivePlan) -> Received:
        """After a good receive: mark a dataset it created, keep the target unmounted,
        report its new newest snapshot."""
        if plan.full and plan.migration_id:
            self._run(argv.set_property(self.zfs, plan.target, MARK, plan.migration_id), "zfs set")
        props = self._props([plan.target], ["mounted", "canmount"]).get(plan.target, {})
        if props.get("canmount") != "noauto":
            self._run(argv.set_property(self.zfs, plan.target, "canmount", "noauto"), "zfs set")
        if props.get("mounted") == "yes":
            self._run(argv.unmount(self.zfs, plan.target), "zfs unmount")
        after = self._snapshots_of(plan.target)
        if not after:
            raise errors.FailedPrecondition(f"zfs receive left no snapshot on {plan.target}")
        newest = list(after)[-1]
        return Received(snapshot=f"{plan.target}@{newest}", guid=after[newest])

    def _undo_receive(self, plan: ReceivePlan) -> None:
        """Puts the target back as it was: no new dataset, parents or snapshots. A resumable
        receive that left a resume token keeps its partial state: a later send -t continues."""
        if plan.resumable and self._resume_token(plan.target):
            log.info("partial receive kept for a resumed send", target=plan.target)
            return
        if plan.full:
            # Only this receive wrote into target since it found it missing (one receive at
            # a time per target), unless another migration marked it since: then it is theirs.
            mark = (self.marks(plan.target) or {}).get(plan.target, "")
            if mark and mark != plan.migration_id:
                log.warning("not destroying another migration's dataset", target=plan.target)
                return
            self._destroy_eventually(plan.target)
            for parent in reversed(plan.created_parents):
                self._destroy_eventually(parent, recursive=False)
            return
        after = self._snapshots_of(plan.target)
        if set(after) - set(plan.snapshots_before) and plan.snapshots_before:
            base = list(plan.snapshots_before)[-1]
            self._run(argv.rollback(self.zfs, f"{plan.target}@{base}"), "zfs rollback")

    def _destroy_eventually(self, dataset: str, recursive: bool = True) -> None:
        # A killed zfs-fuse receiver's daemon side may still hold the dataset for a moment.
        for _ in range(100):
            done = exec.run(argv.destroy(self.zfs, dataset, recursive), check=False)
            if done.returncode == 0 or _MISSING in done.stderr:
                return
            if "busy" not in done.stderr:
                raise zfs_error(
                    errors.CommandFailed(done.argv, done.returncode, done.stderr), "zfs destroy"
                )
            time.sleep(0.1)
        raise errors.FailedPrecondition(f"could not destroy {dataset}: still busy")


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
        receive_resume_token=_no_dash(props.get("receive_resume_token", "-")),
    )


def _no_dash(value: str) -> str:
    """zfs prints "-" for an unset property."""
    return "" if value == "-" else value
