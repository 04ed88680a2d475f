"""Drives one migration through the state machine while holding its store lease.

Each transition is saved (compare-and-set, under the lease) before its action runs; every
action is idempotent, so a controller that was killed runs the saved `pending_action` again
and nothing is done twice: snapshots that exist are reused, a stream whose snapshot the
target already holds (same GUID) is skipped, a stop or a deploy is repeated harmlessly.

A cancel is saved by the API without the lease; the driver notices it at its next save
(Conflict) or at its next progress check (~1 s), stops the running stream, re-reads the
migration and follows the undo action the cancel owes.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import posixpath
import threading
import time
from collections.abc import Callable

import structlog
from structlog.contextvars import bound_contextvars

from stackferry.common import metrics
from stackferry.controller.agents import AgentClient, AgentDialer, TransferCall
from stackferry.controller.domain.machine import Action, MigrationEvent, next_transition
from stackferry.controller.domain.model import (
    DatasetPlan,
    Event,
    EventKind,
    Migration,
    MigrationState,
    SnapshotRecord,
    StepState,
)
from stackferry.controller.domain.progress import incremental_estimate
from stackferry.controller.errors import Conflict, ControllerError, LeaseLost, NotFound, Unavailable
from stackferry.controller.planner import Planner, deploy_request
from stackferry.controller.store.base import MigrationStore
from stackferry.hostapi import TransferProgress, TransferResult, ZfsTransfer

log = structlog.get_logger(__name__)

PROGRESS_INTERVAL = 1.0  # seconds between progress saves (and cancel checks)
STOP_TIMEOUT = 30
VERIFY_POLL = 1.0
UNAVAILABLE_ATTEMPTS = 3
UNAVAILABLE_PAUSE = 2.0  # seconds, times the attempt number


class Interrupted(Exception):
    """The driver must stop the action: a cancel was recorded, or the controller stops."""


class StepFailed(ControllerError):
    """An action failed in a way the migration must react to (fail or roll back)."""


def snapshot_name(migration: Migration, phase: int) -> str:
    """`sf-<id>-1` is taken with the stack running, `sf-<id>-2` after the stop."""
    return f"sf-{migration.id}-{phase}"


class Orchestrator:
    def __init__(
        self,
        store: MigrationStore,
        dialer: AgentDialer,
        planner: Planner,
        owner_id: str,
        lease_ttl: float,
        notify: Callable[[Event], None],
    ) -> None:
        self.store = store
        self.dialer = dialer
        self.planner = planner
        self.owner_id = owner_id
        self.lease_ttl = lease_ttl
        self.notify = notify
        self.m: Migration | None = None
        self._interrupted = threading.Event()
        self._stopping = threading.Event()
        self._call: TransferCall | None = None
        self._call_lock = threading.Lock()

    # -- control from other threads --------------------------------------------------------

    def interrupt(self) -> None:
        """Abort the running stream and re-read the migration (a cancel was recorded)."""
        self._interrupted.set()
        with self._call_lock:
            if self._call is not None:
                self._call.cancel()

    def stop(self) -> None:
        """Stop driving; the state stays where it is for the next controller."""
        self._stopping.set()
        self.interrupt()

    # -- the loop --------------------------------------------------------------------------

    def drive(self, migration_id: str) -> None:
        """Runs owed actions until the migration owes none; the caller holds the lease.
        Every line logged meanwhile, here or in the lease renewer, carries `migration_id`."""
        with bound_contextvars(migration_id=migration_id):
            renewer = threading.Thread(
                target=contextvars.copy_context().run,
                args=(self._renew, migration_id),
                name="lease-renewer",
                daemon=True,
            )
            renewer.start()
            try:
                self._drive(migration_id)
            except Exception:
                log.exception("driver crashed; another round of resume will pick it up")
            finally:
                self._stopping.set()
                renewer.join()
                self.store.release_lease(migration_id, self.owner_id)

    def _drive(self, migration_id: str) -> None:
        self.m = self.store.get(migration_id)
        log.info("driving", state=self.m.state.value, action=self.m.pending_action)
        while not self._stopping.is_set() and self.m.pending_action is not None:
            self._interrupted.clear()
            action = Action(self.m.pending_action)
            try:
                error = self._run(action)
                self._advance(action, error)
            except LeaseLost:
                log.warning("lease lost: stopping", step=action.value)
                return
            except (Interrupted, Conflict):
                log.info("step interrupted", step=action.value, stopping=self._stopping.is_set())
                if self._stopping.is_set():
                    return
                self.m = self.store.get(migration_id)
                log.info("re-read after a cancel", state=self.m.state.value)
        log.info("driver done", state=self.m.state.value, pending_action=self.m.pending_action)

    def _renew(self, migration_id: str) -> None:
        while not self._stopping.wait(self.lease_ttl / 3):
            try:
                self.store.renew_lease(migration_id, self.owner_id, self.lease_ttl)
            except LeaseLost:
                log.warning("lease taken by another controller: stopping")
                self.stop()
                return
            except Exception as exc:  # a database blip: the next round retries before expiry
                log.warning("lease renewal failed", error=str(exc), exc_info=True)

    def _run(self, action: Action) -> str:
        """Runs the action; "" when it succeeded, else why it failed. An agent that cannot be
        reached is tried again a few times first: the action is idempotent."""
        assert self.m is not None
        for attempt in range(1, UNAVAILABLE_ATTEMPTS + 1):
            log.info("step started", step=action.value, state=self.m.state.value, attempt=attempt)
            started = time.monotonic()
            try:
                with metrics.timed_step(action.value):
                    ACTIONS[action](self)
                step = self.m.step(action)
                seconds = round(time.monotonic() - started, 3)
                log.info("step done", step=action.value, seconds=seconds, bytes=step.bytes_done)
                return ""
            except (Interrupted, LeaseLost):
                raise
            except Conflict:
                raise Interrupted() from None
            except Unavailable as exc:
                if self._interrupted.is_set():
                    raise Interrupted() from None
                if attempt == UNAVAILABLE_ATTEMPTS:
                    return self._failed(action, started, str(exc))
                log.warning("agent unavailable, retrying", step=action.value, error=str(exc))
                if self._interrupted.wait(UNAVAILABLE_PAUSE * attempt):
                    raise Interrupted() from None
            except Exception as exc:
                if self._interrupted.is_set():
                    raise Interrupted() from None
                if not isinstance(exc, ControllerError):
                    log.exception("step crashed", step=action.value)
                return self._failed(action, started, str(exc) or type(exc).__name__)
        return ""

    def _failed(self, action: Action, started: float, error: str) -> str:
        assert self.m is not None
        seconds = round(time.monotonic() - started, 3)
        bytes_done = self.m.step(action).bytes_done
        log.error("step failed", step=action.value, seconds=seconds, bytes=bytes_done, error=error)
        return error

    def _advance(self, action: Action, error: str) -> None:
        """Closes the action's step and saves the next transition (before its action)."""
        m = self.m
        assert m is not None
        now = time.time()
        for other in m.steps:
            # A progress record written after a cancel may have left a cut-off step "running".
            if other.state == StepState.RUNNING and other.name != action.value:
                other.state, other.ended_at = StepState.FAILED, now
                other.error = other.error or "interrupted"
        step = m.step(action)
        step.state, step.ended_at, step.error = (
            (StepState.DONE, now, "") if not error else (StepState.FAILED, now, error)
        )
        if m.state.is_terminal:
            # A terminal state's owed clean-up (FAILED owes DISCARD): done, nothing follows.
            m.pending_action = None
            if error:
                m.error = f"{m.error}; {action.value}: {error}"
            message = f"{action.value} failed: {error}" if error else f"{action.value} done"
            self._save(Event(m.id, now, EventKind.STATE, m.state, action.value, message))
            log.log(
                logging.WARNING if error else logging.INFO,
                "clean-up of an ended migration " + ("failed" if error else "done"),
                state=m.state.value,
                step=action.value,
                error=error,
            )
            return
        event = MigrationEvent.STEP_FAILED if error else MigrationEvent.STEP_OK
        previous = m.state
        transition = next_transition(m.state, event)
        if error and transition.next_state != MigrationState.COMPLETED:
            m.error = f"{m.error}; {action.value}: {error}" if m.error else f"{action}: {error}"
        m.state, m.pending_action = transition.next_state, transition.action
        if transition.action is not None:
            nxt = m.step(transition.action)
            nxt.state, nxt.started_at, nxt.ended_at, nxt.error = StepState.RUNNING, now, None, ""
            nxt.bytes_done = nxt.bytes_expected = 0
        message = f"{action.value} failed: {error}" if error else f"{action.value} done"
        self._save(Event(m.id, now, EventKind.STATE, m.state, action.value, message))
        log.log(
            logging.WARNING if error else logging.INFO,
            "state changed",
            previous=previous.value,
            state=m.state.value,
            after=action.value,
            next_action=m.pending_action,
            error=m.error if error else "",
        )

    def _save(self, event: Event | None = None) -> None:
        assert self.m is not None
        self.m = self.store.save(self.m, event, lease_owner=self.owner_id)
        if event is not None:
            self.notify(event)

    def _log(self, message: str, step: str = "") -> None:
        """Records `message` in the migration's event log (and in the controller's log)."""
        assert self.m is not None
        log.info(message, step=step)
        event = Event(self.m.id, time.time(), EventKind.LOG, self.m.state, step, message)
        self.notify(self.store.append_event(event))

    # -- helpers for actions ---------------------------------------------------------------

    @property
    def source(self) -> AgentClient:
        assert self.m is not None
        return self.dialer.dial(self.m.spec.source_agent)

    @property
    def target(self) -> AgentClient:
        assert self.m is not None
        return self.dialer.dial(self.m.spec.target_agent)

    def _guid(self, host: str, dataset: str, name: str) -> str:
        assert self.m is not None
        for s in self.m.snapshots:
            if (s.host, s.dataset, s.name) == (host, dataset, name):
                return s.guid
        return ""

    def _remember(self, record: SnapshotRecord) -> None:
        assert self.m is not None
        key = (record.host, record.dataset, record.name)
        kept = [s for s in self.m.snapshots if (s.host, s.dataset, s.name) != key]
        self.m.snapshots = [*kept, record]

    def _check_cancel(self) -> None:
        """Raises Interrupted when someone saved the migration since we did (a cancel)."""
        assert self.m is not None
        if self._interrupted.is_set() or self.store.get(self.m.id).version != self.m.version:
            raise Interrupted()

    # -- actions ---------------------------------------------------------------------------

    def validate(self) -> None:
        m = self.m
        assert m is not None
        survey = self.planner.survey(m.spec)
        if not survey.report.ok or survey.stack is None or survey.plan is None:
            raise StepFailed(f"validation failed: {survey.report.failures()}")
        m.project_name = survey.plan.project_name
        m.compose_text, m.env_text = survey.stack.compose_text, survey.stack.env_text
        m.datasets = list(survey.plan.datasets)
        if not m.datasets:
            raise StepFailed("the stack has no bind mount on a dataset: nothing to migrate")

    def snapshot(self, phase: int = 1) -> None:
        m = self.m
        assert m is not None
        name = snapshot_name(m, phase)
        datasets = [d.source_dataset for d in m.datasets]
        existing = {s.dataset: s for s in self.source.list_snapshots(datasets, name)}
        missing = [d for d in datasets if d not in existing]
        if missing:
            for s in self.source.create_snapshot(missing, name):
                existing[s.dataset] = s
        else:
            self._log(f"snapshots @{name} already exist: reused", f"snapshot-{phase}")
        for s in existing.values():
            self._remember(SnapshotRecord("source", s.dataset, name, s.guid, time.time()))

    def final_snapshot(self) -> None:
        self.snapshot(phase=2)

    def bulk_send(self) -> None:
        self._send(Action.BULK_SEND, phase=1)

    def incremental_send(self) -> None:
        self._send(Action.INCREMENTAL_SEND, phase=2)

    def _already_received(self, d: DatasetPlan, name: str, guid: str) -> bool:
        try:
            held = self.target.list_snapshots([d.target_dataset], name)
        except NotFound:
            return False
        return any(s.guid == guid for s in held)

    def _send(self, action: Action, phase: int) -> None:
        m = self.m
        assert m is not None
        name = snapshot_name(m, phase)
        base = snapshot_name(m, phase - 1) if phase > 1 else ""
        step = m.step(action)
        resumable = self._resumable()
        todo: list[tuple[DatasetPlan, ZfsTransfer]] = []
        for d in m.datasets:
            guid = self._guid("source", d.source_dataset, name)
            if self._already_received(d, name, guid):
                self._remember(SnapshotRecord("target", d.target_dataset, name, guid))
                self._log(f"{d.target_dataset}@{name} already received: skipped", action.value)
                continue
            snapshot = f"{d.source_dataset}@{name}"
            base_snapshot = f"{d.source_dataset}@{base}" if base else ""
            expected = self._estimate(snapshot, base_snapshot, action)
            token = self._resume_token(d.target_dataset) if resumable else ""
            if token:
                left = self.source.estimate_send(snapshot, "", token).bytes
                self._log(
                    f"{d.target_dataset}: resuming transfer at byte {max(0, expected - left)} "
                    f"({left} bytes left to send)",
                    action.value,
                )
                expected = left
            transfer = ZfsTransfer(
                snapshot=snapshot,
                target_dataset=d.target_dataset,
                base_snapshot=base_snapshot,
                base_guid=self._guid("source", d.source_dataset, base) if base else "",
                bytes_expected=expected,
                bandwidth_limit=m.spec.options.bandwidth_limit_bytes_per_second,
                resumable=resumable,
                resume_token=token,
            )
            todo.append((d, transfer))
        step.bytes_done, step.bytes_expected = 0, sum(t.bytes_expected for _, t in todo)
        for d, transfer in todo:
            result = self._stream(action, self.source.push_zfs(transfer, self.target))
            guid = result.received_guid or self._guid("source", d.source_dataset, name)
            self._remember(SnapshotRecord("target", d.target_dataset, name, guid, time.time()))
            m.bytes_transferred += result.bytes
            self._save()

    def _resumable(self) -> bool:
        """Both agents' zfs can resume a cut stream (OpenZFS `receive -s` / `send -t`; not
        zfs-fuse): then a cut stream keeps its partial receive, and a retry continues it."""
        return all(
            agent.info().storage_features.get("resume", False)
            for agent in (self.source, self.target)
        )

    def _resume_token(self, target_dataset: str) -> str:
        """The token of the partial receive an earlier, cut attempt left on the target."""
        try:
            infos = self.target.get_datasets([target_dataset])
        except NotFound:
            return ""
        return next((i.receive_resume_token for i in infos if i.name == target_dataset), "")

    def _estimate(self, snapshot: str, base_snapshot: str, action: Action) -> int:
        """The agent's estimate; for an incremental it has no dry run for, the delta computed
        from the two snapshots' sizes (see incremental_estimate)."""
        reported = self.source.estimate_send(snapshot, base_snapshot)
        expected, how = reported.bytes, reported.method
        if base_snapshot and not reported.is_dry_run:
            dataset, _, base = base_snapshot.partition("@")
            name = snapshot.partition("@")[2]
            infos = self.source.list_snapshots([dataset], base)
            infos += self.source.list_snapshots([dataset], name)
            if len(infos) == 2:
                expected, how = incremental_estimate(reported, *infos)
        self._log(f"{snapshot}: about {expected} bytes to send ({how})", action.value)
        return expected

    def _stream(self, action: Action, call: TransferCall) -> TransferResult:
        """Follows one agent-to-agent stream, saving progress at most once per interval."""
        m = self.m
        assert m is not None
        step = m.step(action)
        done_before = step.bytes_done
        with self._call_lock:
            self._call = call
        if self._interrupted.is_set():
            call.cancel()
        last_save = time.monotonic()
        finished = False
        try:
            for event in call:
                if isinstance(event, TransferResult):
                    finished = True
                    step.bytes_done = done_before + event.bytes
                    self._progress(step.name, check_cancel=False)
                    return event
                assert isinstance(event, TransferProgress)
                step.bytes_done = done_before + event.bytes_done
                step.bytes_expected = max(step.bytes_expected, step.bytes_done)
                if time.monotonic() - last_save >= PROGRESS_INTERVAL:
                    last_save = time.monotonic()
                    self._progress(step.name)
        finally:
            with self._call_lock:
                self._call = None
            if not finished:
                call.cancel()
        if self._interrupted.is_set():
            raise Interrupted()
        raise StepFailed(f"{action.value}: the stream ended without a result")

    def _progress(self, step_name: str, check_cancel: bool = True) -> None:
        m = self.m
        assert m is not None
        if check_cancel:
            self._check_cancel()
        step = m.step(step_name)
        self.store.upsert_step(m.id, step)
        message = f"{step.bytes_done}/{step.bytes_expected} bytes"
        event = Event(m.id, time.time(), EventKind.PROGRESS, m.state, step_name, message)
        self.notify(self.store.append_event(event))

    def stop_source(self) -> None:
        m = self.m
        assert m is not None
        if m.source_stopped_at is None:
            # Saved before the stop: downtime counts from the moment the stop was asked for.
            m.source_stopped_at = time.time()
            self._save()
        self.source.stop_stack(m.project_name, m.spec.compose_path, STOP_TIMEOUT)

    def deploy(self) -> None:
        m = self.m
        assert m is not None
        request = deploy_request(self.planner.replan(m), m.spec)
        checks = self.target.check_deploy(request)
        if checks.missing_images:
            self._log(f"copying images {', '.join(checks.missing_images)}", Action.DEPLOY.value)
            limit = m.spec.options.bandwidth_limit_bytes_per_second
            call = self.source.push_images(checks.missing_images, self.target, limit)
            m.bytes_transferred += self._stream(Action.DEPLOY, call).bytes
        result = self.target.deploy_stack(request)
        if not result.ok:
            logs = "; ".join(f"{name}: {text.strip()[-300:]}" for name, text in result.logs.items())
            raise StepFailed(
                f"deploy on target failed: {result.error}" + (f" ({logs})" if logs else "")
            )
        if m.target_serving_at is None:
            m.target_serving_at = time.time()
        if m.source_stopped_at is not None:
            m.downtime_seconds = m.target_serving_at - m.source_stopped_at

    def verify(self) -> None:
        m = self.m
        assert m is not None
        plan = self.planner.replan(m)
        compose_path = posixpath.join(plan.target_compose_dir, plan.compose_filename)
        deadline = time.monotonic() + m.spec.options.verify_timeout_seconds
        while True:
            stack = self.target.inspect_stack(compose_path, m.project_name)
            bad = [
                f"{s.name}: {c.name} {c.state}{' ' + c.health if c.health else ''}"
                for s in stack.services
                for c in s.containers
                if c.state != "running" or c.health not in ("", "healthy")
            ]
            empty = [s.name for s in stack.services if not s.containers]
            if not bad and not empty:
                return
            if time.monotonic() >= deadline or any("exited" in b or "dead" in b for b in bad):
                raise StepFailed(f"target not serving: {', '.join(bad + empty)}")
            if self._interrupted.wait(VERIFY_POLL):
                raise Interrupted()

    def cleanup(self) -> None:
        m = self.m
        assert m is not None
        if m.spec.options.keep_snapshots:
            return
        self._destroy_snapshots(hosts=("source", "target"))

    def _destroy_snapshots(self, hosts: tuple[str, ...]) -> None:
        m = self.m
        assert m is not None
        for phase in (2, 1):
            name = snapshot_name(m, phase)
            for host in hosts:
                agent = self.source if host == "source" else self.target
                datasets = [
                    d.source_dataset if host == "source" else d.target_dataset for d in m.datasets
                ]
                for dataset in datasets:
                    with contextlib.suppress(NotFound):
                        agent.destroy_snapshot([dataset], name)
        m.snapshots = [s for s in m.snapshots if s.host not in hosts]

    def rollback(self) -> None:
        """Target stack stopped (left for inspection), source stack started again."""
        m = self.m
        assert m is not None
        plan = self.planner.replan(m)
        target_compose = posixpath.join(plan.target_compose_dir, plan.compose_filename)
        try:
            self.target.stop_stack(m.project_name, target_compose, STOP_TIMEOUT)
        except ControllerError as exc:
            self._log(f"target stack not stopped ({exc}): nothing deployed there", "rollback")
        self.source.start_stack(m.project_name, m.spec.compose_path)
        if m.source_stopped_at is not None:
            m.downtime_seconds = time.time() - m.source_stopped_at

    def discard(self) -> None:
        """The migration's snapshots on the source go; data already on the target stays."""
        m = self.m
        assert m is not None
        self._destroy_snapshots(hosts=("source",))
        received = sorted({s.dataset for s in m.snapshots if s.host == "target"})
        if received:
            self._log(f"data already copied stays on the target: {', '.join(received)}")

    def rollback_and_discard(self) -> None:
        self.rollback()
        self.discard()


ACTIONS: dict[Action, Callable[[Orchestrator], None]] = {
    Action.VALIDATE: Orchestrator.validate,
    Action.SNAPSHOT: Orchestrator.snapshot,
    Action.BULK_SEND: Orchestrator.bulk_send,
    Action.STOP_SOURCE: Orchestrator.stop_source,
    Action.FINAL_SNAPSHOT: Orchestrator.final_snapshot,
    Action.INCREMENTAL_SEND: Orchestrator.incremental_send,
    Action.DEPLOY: Orchestrator.deploy,
    Action.VERIFY: Orchestrator.verify,
    Action.CLEANUP: Orchestrator.cleanup,
    Action.ROLLBACK: Orchestrator.rollback,
    Action.DISCARD: Orchestrator.discard,
    Action.ROLLBACK_AND_DISCARD: Orchestrator.rollback_and_discard,
}
