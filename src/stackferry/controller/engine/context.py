"""What a step function gets: the migration, the two agents, the planner, and the means to
record what it does (a log line, progress, its working data) and to notice it must stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import structlog

from stackferry.controller.domain.model import Event, EventKind, Migration, Step
from stackferry.controller.engine.record import Notify, append_event
from stackferry.controller.engine.tickets import PreparedTickets
from stackferry.controller.errors import ControllerError
from stackferry.controller.planner import Planner
from stackferry.controller.ports import AgentClient, TransferCall
from stackferry.controller.store.base import MigrationStore

log = structlog.get_logger(__name__)


class Interrupted(Exception):
    """The step must stop: a cancel was recorded, or the controller stops."""


class StepFailed(ControllerError):
    """A step failed in a way the migration must react to (fail or roll back)."""


class TargetUnknown(StepFailed):
    """Whether the target stack runs is not known: its agent did not answer (`transient`:
    tried again within the retry window) or its stop failed. The source must stay stopped."""

    def __init__(self, message: str, address: str, transient: bool) -> None:
        self.address = address
        self.transient = transient
        super().__init__(message)


@dataclass(frozen=True)
class EngineTimings:
    progress_seconds: float = 1.0  # between progress saves (and cancel checks) of a stream


class Interruption:
    """The driver's stop signal as a step sees it; set from another thread, it also cuts the
    stream the step follows at that moment."""

    def __init__(self) -> None:
        self._flag = threading.Event()
        self._calls: list[TransferCall] = []  # several at once in the parallel final phase
        self._lock = threading.Lock()

    def set(self) -> None:
        self._flag.set()
        with self._lock:
            for call in self._calls:
                call.cancel()

    def clear(self) -> None:
        self._flag.clear()

    def is_set(self) -> bool:
        return self._flag.is_set()

    def wait(self, seconds: float) -> bool:
        """True when it was set within `seconds`."""
        return self._flag.wait(seconds)

    @contextmanager
    def cutting(self, call: TransferCall) -> Iterator[None]:
        """While inside, `set()` cancels `call` (at once when it is set already)."""
        with self._lock:
            self._calls.append(call)
        try:
            if self._flag.is_set():
                call.cancel()
            yield
        finally:
            with self._lock:
                self._calls.remove(call)


class HeldClaims:
    """The sides ("source", "target") whose claims the running step holds: the driver's lease
    renewer renews them (engine/claims.py); a release drops its side first, under the lock, so
    that no renewal takes it again after the release."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sides: set[str] = set()


class StepContext:
    """One step's view of its migration. `migration` is the driver's working copy: the step
    changes it in place and `save()` stores it (under the lease) without a transition."""

    def __init__(
        self,
        migration: Migration,
        source: AgentClient,
        target: AgentClient,
        planner: Planner,
        timings: EngineTimings,
        interruption: Interruption,
        store: MigrationStore,
        lease_owner: str,
        notify: Notify,
    ) -> None:
        self.migration = migration
        self.source = source
        self.target = target
        self.planner = planner
        self.timings = timings
        self.interruption = interruption
        self._store = store
        self._lease_owner = lease_owner
        self._notify = notify
        self.claims = HeldClaims()
        # the driver's, shared by the steps it runs (engine/tickets.py)
        self.tickets = PreparedTickets()

    def log(
        self, message: str, step: str = "", bytes_done: int = 0, bytes_expected: int = 0
    ) -> None:
        """Records `message` in the migration's event log (and in the controller's log)."""
        log.info(message, step=step)
        m = self.migration
        event = Event(
            m.id, time.time(), EventKind.LOG, m.state, step, message, bytes_done, bytes_expected
        )
        append_event(self._store, event, self._notify)

    def save(self) -> None:
        """Stores the working data now (Conflict after a cancel, LeaseLost without the lease)."""
        saved = self._store.save(self.migration, lease_owner=self._lease_owner)
        self.migration.version, self.migration.updated_at = saved.version, saved.updated_at

    def progress(self, step: Step, check_cancel: bool = True) -> None:
        """Records how far `step` is, first raising Interrupted if a cancel came meanwhile."""
        if check_cancel:
            self.check_cancel()
        m = self.migration
        self._store.upsert_step(m.id, step)
        message = f"{step.bytes_done}/{step.bytes_expected} bytes"
        event = Event(
            m.id,
            time.time(),
            EventKind.PROGRESS,
            m.state,
            step.name,
            message,
            step.bytes_done,
            step.bytes_expected,
        )
        append_event(self._store, event, self._notify)

    def check_cancel(self) -> None:
        """Raises Interrupted when someone saved the migration since we did (a cancel)."""
        stored = self._store.get(self.migration.id)
        if self.interruption.is_set() or stored.version != self.migration.version:
            raise Interrupted()
