"""The receive side of the zfs backend: checks before a receive, the `zfs receive` pipe,
and what a finished or aborted receive leaves.

Ownership: a dataset a migration creates here (a full receive, or a parent it needed) is
recorded in the agent's journal before it is created and gets the user property
stackferry:migration=<id> once it exists (zfs-fuse has no `receive -o`: it is set right
after the receive). An undo or a Discard destroys only a dataset that this very receive
created, or that carries the migration's own mark; one receive at a time per target, so a
second receive into the same target is refused instead of racing the first (the loser's
undo once destroyed the winner's freshly received dataset).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import structlog

from stackferry.agent import errors, exec
from stackferry.agent.roots import validate_dataset_name
from stackferry.agent.storage import zfs_argv as argv
from stackferry.agent.storage.zfs_commands import MISSING, ZfsCommands, no_dash
from stackferry.agent.storage.zfs_errors import zfs_error
from stackferry.agent.storage.zfs_stream import ReceivePlan, zfs_receive_sink
from stackferry.agent.streams import ByteSink, Received

log = structlog.get_logger(__name__)

MARK = "stackferry:migration"
# How long a receive waits for an earlier receive of its own migration into the same target
# to finish its abort (zfs-fuse's EOF grace, then the destroy of the partial dataset).
SAME_MIGRATION_WAIT_SECONDS = 120.0

# (migration_id, kind, name): records in the journal that a migration creates a thing.
RecordCreated = Callable[[str, str, str], None]


def no_record(migration_id: str, kind: str, name: str) -> None:
    return None


class ZfsReceiving(ZfsCommands):
    def __init__(self, zfs_binary: str, record_created: RecordCreated = no_record) -> None:
        super().__init__(zfs_binary)
        self._record_created = record_created
        self._receiving: dict[str, str] = {}  # target -> migration id of its running receive
        self._receiving_changed = threading.Condition()

    def check_receive(
        self, target: str, base_guid: str | None, allow_overwrite: bool, resume: bool = False
    ) -> None:
        self._check_receive(target, base_guid, allow_overwrite, resume)

    def _resume_token(self, dataset: str) -> str:
        """The dataset's receive_resume_token ("" when none, or when this zfs cannot resume)."""
        if not self._features.resume:
            return ""
        props = self._props([dataset], ["receive_resume_token"]).get(dataset, {})
        return no_dash(props.get("receive_resume_token", "-"))

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
            if MISSING in done.stderr:
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
