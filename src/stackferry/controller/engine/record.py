"""Writing a migration's history: a transition (machine.apply, saved with its event) or a
plain event, each logged and passed to the controller's `notify`. The driver and
ControllerService both write through here, so a transition is recorded one way only."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import structlog

from stackferry.controller.domain.machine import MigrationEvent, apply
from stackferry.controller.domain.model import Event, Migration
from stackferry.controller.store.base import MigrationStore

log = structlog.get_logger(__name__)

Notify = Callable[[Event], None]


def save_transition(
    store: MigrationStore,
    migration: Migration,
    event: MigrationEvent,
    notify: Notify,
    lease_owner: str | None = None,
    error: str = "",
) -> Migration:
    """Applies `event` and saves the result with its STATE event (compare-and-set; under the
    lease when `lease_owner` is given) before the action it owes runs; the saved migration."""
    changed, record = apply(migration, event, time.time(), error)
    saved = store.save(changed, record, lease_owner=lease_owner)
    log.log(
        logging.WARNING if error else logging.INFO,
        "state changed",
        previous=migration.state.value,
        state=saved.state.value,
        on=event.value,
        after=record.step,
        next_action=saved.pending_action,
        error=saved.error if error else "",
    )
    notify(record)
    return saved


def append_event(store: MigrationStore, event: Event, notify: Notify) -> Event:
    """Adds an event that is not a transition (a log line, progress); it gets its id."""
    recorded = store.append_event(event)
    notify(recorded)
    return recorded
