"""The durable state of the controller, as an interface; controller/store/sql.py implements it.

Contract (tests/contract/test_store.py runs it against every backend):
- `create` refuses a second migration of the same stack (source agent + compose path) while
  one has not reached a terminal state: AlreadyExists.
- `save` is compare-and-set on `Migration.version`: it writes the whole migration (state,
  working data, steps, snapshots) and its optional event in one transaction, only when the
  stored version still equals `migration.version`, and returns the migration with the new
  version; otherwise Conflict. With `lease_owner` given it also requires that owner to hold
  an unexpired lease (LeaseLost otherwise), so a controller whose lease lapsed cannot advance.
- Leases make one controller the driver of a migration: `acquire_lease` succeeds when the
  lease is free, expired or already ours (then it is extended); another live owner: LeaseHeld.
- Unknown ids raise NotFound everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from stackferry.controller.domain.model import Event, Lease, Migration, MigrationState, Step


@dataclass(frozen=True)
class MigrationPage:
    migrations: list[Migration]
    next_page_token: str  # "" on the last page


class MigrationStore(Protocol):
    def create(self, migration: Migration) -> Migration:
        """Insert a new migration; returns it with its first version."""
        ...

    def get(self, migration_id: str) -> Migration: ...

    def list_migrations(
        self,
        states: Sequence[MigrationState] = (),
        page_size: int = 50,
        page_token: str = "",
    ) -> MigrationPage:
        """Newest first; `states` empty = all. A malformed page_token: InvalidArgument."""
        ...

    def count_by_state(self) -> dict[MigrationState, int]:
        """How many migrations are in each state (states with none are left out)."""
        ...

    def save(
        self, migration: Migration, event: Event | None = None, lease_owner: str | None = None
    ) -> Migration:
        """Compare-and-set on `migration.version` (see the module doc)."""
        ...

    def upsert_step(self, migration_id: str, step: Step) -> None:
        """Record a step's progress without bumping the version (progress is not a transition)."""
        ...

    def append_event(self, event: Event) -> Event:
        """Returns the event with its id, which increases across all migrations."""
        ...

    def list_events(self, migration_id: str, after_id: int = 0, limit: int = 1000) -> list[Event]:
        """Events with id > after_id, oldest first."""
        ...

    def delete(self, migration_id: str) -> None:
        """Remove a terminal migration and its steps, snapshots, events; else FailedPrecondition."""
        ...

    def acquire_lease(self, migration_id: str, owner: str, ttl_seconds: float) -> Lease: ...

    def renew_lease(self, migration_id: str, owner: str, ttl_seconds: float) -> Lease:
        """Extend the lease `owner` holds, even if it expired unnoticed; LeaseLost when it was
        released or another owner took it since."""
        ...

    def release_lease(self, migration_id: str, owner: str) -> None:
        """Give the lease up; nothing happens when `owner` does not hold it."""
        ...

    def close(self) -> None: ...
