"""Drives one migration through the state machine while holding its store lease.

Each transition is saved (compare-and-set, under the lease) before its step runs; every step
is idempotent (engine/steps/), so a controller that was killed runs the saved
`pending_action` again and nothing is done twice.

A cancel is saved by the API without the lease; the driver notices it at its next save
(Conflict) or at its next progress check, stops the running stream, re-reads the migration
and follows the undo action the cancel owes.

The agents are dialled bound to the migration's id, and the forward steps hold the
migration's claims on both (engine/claims.py): another migration, from this controller or
any other, cannot touch the stack or its target meanwhile. The lease renewer also renews
the running step's claims, so they last however long a step takes.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Iterator

import structlog
from structlog.contextvars import bound_contextvars

from stackferry.common import metrics
from stackferry.controller.domain.machine import Action, MigrationEvent
from stackferry.controller.domain.model import Event, EventKind, Migration
from stackferry.controller.engine import claims
from stackferry.controller.engine.context import (
    EngineTimings,
    Interrupted,
    Interruption,
    StepContext,
    TargetUnknown,
)
from stackferry.controller.engine.record import Notify, append_event, save_transition
from stackferry.controller.engine.retry import RetryPolicy
from stackferry.controller.engine.steps import STEPS
from stackferry.controller.engine.tickets import PreparedTickets
from stackferry.controller.errors import Conflict, ControllerError, LeaseLost
from stackferry.controller.planner import Planner
from stackferry.controller.ports import Dialer
from stackferry.controller.store.base import MigrationStore

log = structlog.get_logger(__name__)


class Driver:
    def __init__(
        self,
        store: MigrationStore,
        dialer: Dialer,
        planner: Planner,
        owner_id: str,
        lease_ttl: float,
        notify: Notify,
        retry: RetryPolicy | None = None,
        timings: EngineTimings | None = None,
    ) -> None:
        self.store = store
        self.dialer = dialer
        self.planner = planner
        self.owner_id = owner_id
        self.lease_ttl = lease_ttl
        self.notify = notify
        self.retry = retry or RetryPolicy()
        self.timings = timings or EngineTimings()
        self._interruption = Interruption()
        self._stopping = threading.Event()
        self._step_lock = threading.Lock()
        self._step: StepContext | None = None
        self._claims_renewed = 0.0
        self._tickets = PreparedTickets()  # the final phase's, prepared before the stop

    # -- control from other threads --------------------------------------------------------

    def interrupt(self) -> None:
        """Abort the running step and re-read the migration (a cancel was recorded)."""
        self._interruption.set()

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

    def step_context(self, migration: Migration) -> StepContext:
        """What a step of `migration` runs with; it records under this driver's lease and
        stops when this driver is interrupted."""
        ctx = StepContext(
            migration,
            self.dialer.dial(migration.spec.source_agent, migration.id),
            self.dialer.dial(migration.spec.target_agent, migration.id),
            self.planner,
            self.timings,
            self._interruption,
            self.store,
            self.owner_id,
            self.notify,
        )
        ctx.tickets = self._tickets
        return ctx

    def _drive(self, migration_id: str) -> None:
        migration = self.store.get(migration_id)
        log.info("driving", state=migration.state.value, action=migration.pending_action)
        while not self._stopping.is_set() and migration.pending_action is not None:
            self._interruption.clear()
            action = Action(migration.pending_action)
            try:
                event, error = self._run(action, migration)
                migration = save_transition(
                    self.store,
                    migration,
                    event,
                    self.notify,
                    lease_owner=self.owner_id,
                    error=error,
                )
            except LeaseLost:
                log.warning("lease lost: stopping", step=action.value)
                return
            except (Interrupted, Conflict):
                log.info("step interrupted", step=action.value, stopping=self._stopping.is_set())
                if self._stopping.is_set():
                    return
                migration = self.store.get(migration_id)
                log.info("re-read after a cancel", state=migration.state.value)
        log.info("driver done", state=migration.state.value)

    @contextlib.contextmanager
    def _running(self, migration: Migration) -> Iterator[StepContext]:
        """The context of the step that runs now: the lease renewer renews its claims."""
        ctx = self.step_context(migration)
        with self._step_lock:
            self._step, self._claims_renewed = ctx, self.retry.clock.now()
        try:
            yield ctx
        finally:
            with self._step_lock:
                self._step = None

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
            self._renew_claims()

    def _renew_claims(self) -> None:
        """Every third of the claims' TTL while the driver holds the lease, the claims of the
        running step (a long send or undo step must not outlive them)."""
        with self._step_lock:
            ctx, now = self._step, self.retry.clock.now()
            if ctx is None or now - self._claims_renewed < claims.CLAIM_TTL_SECONDS / 3:
                return
            self._claims_renewed = now
        claims.renew(ctx)

    def _run(self, action: Action, migration: Migration) -> tuple[MigrationEvent, str]:
        """Runs the step on `migration` (changed in place): the event it ends with, and why it
        failed ("" when it did not). A transient error is tried again within the retry
        window (steps are idempotent); a rollback that still cannot tell whether the target
        stack runs ends with TARGET_UNKNOWN."""
        attempt = 0
        first_failure: float | None = None
        while True:
            attempt += 1
            log.info(
                "step started", step=action.value, state=migration.state.value, attempt=attempt
            )
            started = time.monotonic()
            try:
                with metrics.timed_step(action.value), self._running(migration) as ctx:
                    if action in claims.HELD_DURING:
                        claims.hold(ctx)
                    elif action in claims.UNDO:
                        claims.adopt(ctx)
                    STEPS[action](ctx)
                seconds = round(time.monotonic() - started, 3)
                bytes_done = migration.step(action).bytes_done
                log.info("step done", step=action.value, seconds=seconds, bytes=bytes_done)
                return MigrationEvent.STEP_OK, ""
            except (Interrupted, LeaseLost):
                raise
            except Conflict:
                raise Interrupted() from None
            except Exception as exc:
                if self._interruption.is_set():
                    raise Interrupted() from None
                now = self.retry.clock.now()
                first_failure = now if first_failure is None else first_failure
                pause = (
                    self.retry.next_pause(attempt, now - first_failure)
                    if self.retry.is_transient(exc)
                    else None
                )
                if pause is not None:
                    self._wait(migration, action, exc, attempt, pause)
                    continue
                if not isinstance(exc, ControllerError):
                    log.exception("step crashed", step=action.value)
                error = str(exc) or type(exc).__name__
                seconds = round(time.monotonic() - started, 3)
                bytes_done = migration.step(action).bytes_done
                log.error(
                    "step failed", step=action.value, seconds=seconds, bytes=bytes_done, error=error
                )
                if isinstance(exc, TargetUnknown):
                    return MigrationEvent.TARGET_UNKNOWN, error
                return MigrationEvent.STEP_FAILED, error

    def _wait(
        self, migration: Migration, action: Action, exc: Exception, attempt: int, pause: float
    ) -> None:
        """Records what the driver waits for (Migration.waiting and an event), pauses, and
        clears it again for the next attempt; Interrupted when a cancel or a shutdown comes
        meanwhile."""
        address = getattr(exc, "address", "") or "(unknown address)"
        next_in = f"next in {pause:.3g} s"
        migration.waiting = f"waiting for agent {address} (attempt {attempt}, {next_in})"
        log.warning(
            "agent unavailable, retrying",
            step=action.value,
            error=str(exc),
            attempt=attempt,
            pause=pause,
        )
        self._save(migration)
        event = Event(
            migration.id,
            time.time(),
            EventKind.LOG,
            migration.state,
            action.value,
            f"{migration.waiting}: {exc}",
        )
        append_event(self.store, event, self.notify)
        if self.retry.clock.pause(pause, self._interruption):
            raise Interrupted()
        migration.waiting = ""
        self._save(migration)

    def _save(self, migration: Migration) -> None:
        """Stores the working copy under the lease (Conflict after a cancel)."""
        saved = self.store.save(migration, lease_owner=self.owner_id)
        migration.version, migration.updated_at = saved.version, saved.updated_at
