"""ControllerService: the controller's operations, without grpc.

controller/api adapts it to the gRPC API and the CLI's embedded controller runs it in-process.
Each started migration is driven by one engine Driver in a background thread of the controller
that holds its store lease; any replica may read, cancel or watch it through the store.
"""

from __future__ import annotations

import builtins
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence

import structlog
from structlog.contextvars import bound_contextvars

from stackferry.common import metrics
from stackferry.controller.domain.machine import MigrationEvent, next_transition
from stackferry.controller.domain.model import (
    Event,
    EventKind,
    Migration,
    MigrationSpec,
    MigrationState,
    new_migration,
)
from stackferry.controller.domain.plan import Plan, check_spec
from stackferry.controller.domain.progress import MigrationStatus, status_of
from stackferry.controller.domain.validation import ValidationReport
from stackferry.controller.engine.context import EngineTimings
from stackferry.controller.engine.driver import Driver
from stackferry.controller.engine.record import append_event, save_transition
from stackferry.controller.engine.retry import RetryPolicy
from stackferry.controller.errors import Conflict, FailedPrecondition, LeaseHeld
from stackferry.controller.planner import Planner
from stackferry.controller.ports import Dialer
from stackferry.controller.store.base import MigrationStore
from stackferry.hostapi import AgentPing

log = structlog.get_logger(__name__)

# Started and not halted: what a controller drives, or resumes when its driver is gone
# (NEEDS_ATTENTION waits for a person's resume instead).
UNFINISHED_STATES = tuple(
    s for s in MigrationState if s != MigrationState.PENDING and not s.is_halted
)
WATCH_POLL_SECONDS = 0.2
# cancel() returns once the undo is done when it is quick (discarding snapshots), else the
# migration as it is then (CANCELLING), so the caller is not held through a long rollback.
CANCEL_WAIT_SECONDS = 10.0


class ControllerService:
    """Create, start, cancel, inspect and resume migrations.

    `owner_id` names this controller in store leases (default hostname:pid:random);
    `on_event` is called with every event this controller records (for logs and metrics);
    `retry` says when a failed step is run again, `timings` how often a stream's progress is
    recorded (the defaults suit real agents; tests with fakes make them fast).
    """

    def __init__(
        self,
        store: MigrationStore,
        dialer: Dialer,
        owner_id: str | None = None,
        on_event: Callable[[Event], None] | None = None,
        lease_ttl: float = 10.0,
        retry: RetryPolicy | None = None,
        timings: EngineTimings | None = None,
    ) -> None:
        self.store = store
        self.dialer = dialer
        self.owner_id = owner_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.on_event = on_event
        self.lease_ttl = lease_ttl
        self.retry = retry or RetryPolicy()
        self.timings = timings or EngineTimings()
        self.planner = Planner(dialer)
        self._drivers: dict[str, tuple[Driver, threading.Thread]] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._resumer: threading.Thread | None = None

    # -- lifecycle of one migration ------------------------------------------------------------

    def create(self, spec: MigrationSpec, start: bool = False) -> Migration:
        """Records a PENDING migration (AlreadyExists while another one of the stack runs)."""
        check_spec(spec)
        migration = self.store.create(new_migration(spec, time.time()))
        with bound_contextvars(migration_id=migration.id):
            log.info(
                "migration created",
                name=spec.name,
                compose_path=spec.stack,
                source=spec.source_agent,
                target=spec.target_agent,
            )
            self._record(migration, EventKind.STATE, "created")
        return self.start(migration.id) if start else migration

    def start(self, migration_id: str) -> Migration:
        """PENDING → VALIDATING, then drives the migration in a background thread.

        Starting a migration that is already being driven here returns it unchanged; one left
        behind by a dead controller is resumed once its lease can be taken (else LeaseHeld).
        """
        with bound_contextvars(migration_id=migration_id):
            return self._start(migration_id)

    def _start(self, migration_id: str, event: MigrationEvent = MigrationEvent.START) -> Migration:
        """Takes the lease, records `event` when the state is the one it moves on (START:
        PENDING, RESUME: NEEDS_ATTENTION), and drives the migration."""
        migration = self.store.get(migration_id)
        if migration.state.is_terminal:
            raise FailedPrecondition(f"migration {migration_id} already ended {migration.state}")
        if self.is_driving(migration_id):
            return migration
        self.store.acquire_lease(migration_id, self.owner_id, self.lease_ttl)
        try:
            migration = self.store.get(migration_id)
            moved_on = {
                MigrationEvent.START: MigrationState.PENDING,
                MigrationEvent.RESUME: MigrationState.NEEDS_ATTENTION,
            }
            if migration.state == moved_on[event]:
                migration = save_transition(
                    self.store,
                    migration,
                    event,
                    self._notify,
                    lease_owner=self.owner_id,
                )
        except BaseException:
            self.store.release_lease(migration_id, self.owner_id)
            raise
        self._spawn_driver(migration_id)
        return migration

    def resume(self, migration_id: str) -> Migration:
        """Drives here a migration whose driver is gone (`stackferry resume ID`); one that
        NEEDS_ATTENTION runs its rollback again (a person checked the target). Never starts a
        PENDING one; LeaseHeld while a live controller drives it."""
        with bound_contextvars(migration_id=migration_id):
            if self.store.get(migration_id).state == MigrationState.PENDING:
                raise FailedPrecondition(f"migration {migration_id} was never started")
            return self._start(migration_id, MigrationEvent.RESUME)

    def cancel(self, migration_id: str) -> Migration:
        """Records the cancel transition (CAS, retried on conflict) and lets the driver undo;
        returns the migration once the undo is done (or after CANCEL_WAIT_SECONDS).

        The driver of the migration, here or in another replica, sees the new state at its next
        save or progress check and runs the undo action; a migration nobody drives is driven
        here.
        """
        with bound_contextvars(migration_id=migration_id):
            return self._cancel(migration_id)

    def _cancel(self, migration_id: str) -> Migration:
        for _ in range(20):
            migration = self.store.get(migration_id)
            transition = next_transition(migration.state, MigrationEvent.CANCEL)
            if transition.is_noop:
                return migration
            try:
                migration = save_transition(
                    self.store, migration, MigrationEvent.CANCEL, self._notify
                )
                break
            except Conflict:
                time.sleep(0.05)
        else:
            raise Conflict(f"migration {migration_id} kept changing; cancel again")
        with self._lock:
            driver = self._drivers.get(migration_id)
        if driver is not None:
            driver[0].interrupt()
        elif migration.pending_action is not None:
            self._drive_if_free(migration_id)
        return self.wait(migration_id, CANCEL_WAIT_SECONDS)

    def delete(self, migration_id: str) -> None:
        """Removes a finished migration and its history (FailedPrecondition while it runs)."""
        self.store.delete(migration_id)
        log.info("migration deleted", migration_id=migration_id)
        self._publish_counts()

    # -- reading -------------------------------------------------------------------------------

    def get(self, migration_id: str) -> Migration:
        return self.store.get(migration_id)

    def status(self, migration_id: str) -> MigrationStatus:
        return status_of(self.store.get(migration_id), time.time())

    def list(
        self, states: Sequence[MigrationState] = (), page_size: int = 50, page_token: str = ""
    ) -> tuple[builtins.list[Migration], str]:
        page = self.store.list_migrations(states, page_size, page_token)
        return page.migrations, page.next_page_token

    def watch(self, migration_id: str, stop: threading.Event, after_id: int = 0) -> Iterator[Event]:
        """Every event of the migration from its creation on (or after the event `after_id`,
        for a client that reconnects), then new ones as they come; ends when the migration
        has halted (ended, or NEEDS_ATTENTION) or `stop` is set."""
        self.store.get(migration_id)
        after = after_id
        while not stop.is_set():
            events = self.store.list_events(migration_id, after_id=after)
            for event in events:
                after = event.id
                yield event
            if events:
                continue
            if self.store.get(migration_id).state.is_halted:
                for event in self.store.list_events(migration_id, after_id=after):
                    yield event
                return
            stop.wait(WATCH_POLL_SECONDS)

    def wait(self, migration_id: str, timeout: float) -> Migration:
        """The migration once it has halted (ended, or NEEDS_ATTENTION), or as it is after
        `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            migration = self.store.get(migration_id)
            if migration.state.is_halted or time.monotonic() >= deadline:
                return migration
            time.sleep(WATCH_POLL_SECONDS)

    # -- dry runs ------------------------------------------------------------------------------

    def validate(self, target: MigrationSpec | str) -> ValidationReport:
        """Every prerequisite as a named check; nothing is changed on either host."""
        return self.planner.validate(self._spec_of(target))

    def plan(self, target: MigrationSpec | str) -> Plan:
        """Datasets and sizes, path map, translated compose (unified diff) and .env."""
        return self.planner.plan(self._spec_of(target))

    def ping_agent(self, address: str) -> AgentPing:
        return self.dialer.ping(address)

    def _spec_of(self, target: MigrationSpec | str) -> MigrationSpec:
        if isinstance(target, str):
            return self.store.get(target).spec
        check_spec(target)
        return target

    # -- controller lifecycle ------------------------------------------------------------------

    def resume_all(self) -> None:
        """Drives every unfinished migration whose lease is free, now and then periodically
        (a lease left by a killed controller frees itself when it expires)."""
        self._publish_counts()
        self._resume_free()
        if self._resumer is None:
            self._resumer = threading.Thread(
                target=self._resume_loop, name="stackferry-resumer", daemon=True
            )
            self._resumer.start()

    def shutdown(self) -> None:
        """Stops driving (state stays where it is, leases are released for another replica)."""
        self._closing.set()
        with self._lock:
            drivers = list(self._drivers.values())
        for driver, _ in drivers:
            driver.stop()
        for _, thread in drivers:
            thread.join(timeout=30)
        if self._resumer is not None:
            self._resumer.join(timeout=5)
        self.dialer.close()

    # -- internals -----------------------------------------------------------------------------

    def _record(self, migration: Migration, kind: EventKind, message: str) -> None:
        event = Event(migration.id, time.time(), kind, migration.state, message=message)
        append_event(self.store, event, self._notify)

    def _notify(self, event: Event) -> None:
        """Every recorded event, from the API's calls and from the drivers, passes here."""
        if event.kind == EventKind.STATE:
            self._publish_counts()
        if self.on_event is not None:
            self.on_event(event)

    def _publish_counts(self) -> None:
        """Migrations by state for the metrics gauge: one GROUP BY per saved transition."""
        try:
            counts = self.store.count_by_state()
        except Exception as exc:  # the gauge is not worth failing a transition for
            log.warning("migrations by state not counted", error=str(exc))
            return
        metrics.set_migrations_by_state({state.value: n for state, n in counts.items()})

    def is_driving(self, migration_id: str) -> bool:
        """Whether a driver of this controller runs the migration now."""
        with self._lock:
            driver = self._drivers.get(migration_id)
            return driver is not None and driver[1].is_alive()

    def _drive_if_free(self, migration_id: str) -> bool:
        if self._closing.is_set() or self.is_driving(migration_id):
            return False
        try:
            self.store.acquire_lease(migration_id, self.owner_id, self.lease_ttl)
        except LeaseHeld:
            return False
        self._spawn_driver(migration_id)
        return True

    def _spawn_driver(self, migration_id: str) -> None:
        """Runs a Driver for a migration whose lease this controller holds."""
        driver = Driver(
            self.store,
            self.dialer,
            self.planner,
            self.owner_id,
            self.lease_ttl,
            self._notify,
            self.retry,
            self.timings,
        )

        def drive() -> None:
            try:
                driver.drive(migration_id)
            finally:
                with self._lock:
                    if self._drivers.get(migration_id, (None, None))[0] is driver:
                        del self._drivers[migration_id]

        thread = threading.Thread(target=drive, name=f"migration-{migration_id[:8]}", daemon=True)
        with self._lock:
            self._drivers[migration_id] = (driver, thread)
        thread.start()

    def _resume_free(self) -> None:
        for migration in self._unfinished():
            if self._drive_if_free(migration.id):
                log.info(
                    "resuming migration", migration_id=migration.id, state=migration.state.value
                )

    def _unfinished(self) -> builtins.list[Migration]:
        """Started migrations that have not ended."""
        found: builtins.list[Migration] = []
        token = ""
        while True:
            page = self.store.list_migrations(UNFINISHED_STATES, 200, token)
            found += page.migrations
            token = page.next_page_token
            if not token:
                return found

    def _resume_loop(self) -> None:
        while not self._closing.wait(self.lease_ttl / 2):
            try:
                self._resume_free()
            except Exception:  # the store may be briefly unreachable; try again next round
                log.exception("resume round failed")
