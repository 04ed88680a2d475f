"""MigrationStore on SQLAlchemy Core: an SQLite file by default, PostgreSQL by URL.

The schema comes only from the Alembic revisions, applied (`upgrade head`) when the store
opens. Every write is one transaction; the guards that keep two controllers apart are single
conditional UPDATEs (version compare-and-set, lease owner/expiry), which both backends
evaluate atomically against the committed row, so no SELECT ... FOR UPDATE is needed.
Lease expiry uses each controller's wall clock: replicas need clocks in sync to well within
the lease TTL.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import time
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.dialects import postgresql, sqlite

from stackferry.controller.domain.model import (
    TERMINAL_STATES,
    Event,
    Lease,
    Migration,
    MigrationState,
    Step,
)
from stackferry.controller.errors import (
    AlreadyExists,
    Conflict,
    FailedPrecondition,
    InvalidArgument,
    LeaseHeld,
    LeaseLost,
    NotFound,
)
from stackferry.controller.store import rows
from stackferry.controller.store.base import MigrationPage
from stackferry.controller.store.tables import events, migrations, snapshots, steps

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50
# Serialises concurrent `upgrade head` of several controllers starting on one PostgreSQL.
MIGRATION_LOCK_KEY = zlib.crc32(b"stackferry-controller-schema")


def _configure_sqlite(engine: sa.Engine) -> None:
    """Take the write lock at BEGIN (BEGIN IMMEDIATE) so two processes never both read and
    then fail to upgrade to writing; wait for the lock instead of failing at once."""

    @sa.event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _encode_token(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode()


def _decode_token(token: str) -> int:
    try:
        prefix, _, seq = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if prefix != "seq":
            raise ValueError(prefix)
        return int(seq)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidArgument(f"malformed page token {token!r}") from None


class SqlMigrationStore:
    """The MigrationStore of controller/store/base.py; see there for the contract."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self._upgrade_schema()

    def _upgrade_schema(self) -> None:
        config = Config(str(ALEMBIC_INI))
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[sa.Connection]:
        with self.engine.begin() as conn:
            yield conn

    # -- migrations -------------------------------------------------------------------------

    def create(self, migration: Migration) -> Migration:
        created = dataclasses.replace(migration, version=1)
        try:
            with self._tx() as conn:
                values = rows.migration_values(created)
                conn.execute(migrations.insert().values(**values, version=1))
                self._write_children(conn, created)
        except sa.exc.IntegrityError:
            self._raise_create_conflict(migration)
        return created

    def _raise_create_conflict(self, migration: Migration) -> None:
        with self._tx() as conn:
            taken = conn.execute(
                sa.select(migrations.c.id).where(migrations.c.id == migration.id)
            ).first()
            running = conn.execute(
                sa.select(migrations.c.id, migrations.c.state).where(
                    migrations.c.active_stack == rows.active_stack_key(migration)
                )
            ).first()
        if taken:
            raise AlreadyExists(f"migration {migration.id} already exists")
        if running:
            raise AlreadyExists(
                f"{migration.spec.stack} on {migration.spec.source_agent} is already being"
                f" migrated by {running.id} ({running.state})"
            )
        raise Conflict(f"migration {migration.id} could not be created; retry")

    def get(self, migration_id: str) -> Migration:
        with self._tx() as conn:
            found = self._load(conn, sa.select(migrations).where(migrations.c.id == migration_id))
        if not found:
            raise NotFound(f"no migration {migration_id}")
        return found[0]

    def list_migrations(
        self,
        states: Sequence[MigrationState] = (),
        page_size: int = DEFAULT_PAGE_SIZE,
        page_token: str = "",
    ) -> MigrationPage:
        if page_size < 0:
            raise InvalidArgument(f"page_size must be >= 0, not {page_size}")
        size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        query = sa.select(migrations).order_by(migrations.c.seq.desc()).limit(size + 1)
        if states:
            query = query.where(migrations.c.state.in_([s.value for s in states]))
        if page_token:
            query = query.where(migrations.c.seq < _decode_token(page_token))
        with self._tx() as conn:
            found = self._load(conn, query)
            if len(found) <= size:
                return MigrationPage(found, "")
            last_seq = conn.execute(
                sa.select(migrations.c.seq).where(migrations.c.id == found[size - 1].id)
            ).scalar_one()
        return MigrationPage(found[:size], _encode_token(last_seq))

    def count_by_state(self) -> dict[MigrationState, int]:
        query = sa.select(migrations.c.state, sa.func.count()).group_by(migrations.c.state)
        with self._tx() as conn:
            return {MigrationState(state): count for state, count in conn.execute(query)}

    def _load(self, conn: sa.Connection, query: sa.Select[Any]) -> list[Migration]:
        """The migrations `query` selects, in its order, with their steps and snapshots."""
        found = [r._mapping for r in conn.execute(query)]
        ids = [r["id"] for r in found]
        step_rows: dict[str, list[Any]] = {i: [] for i in ids}
        snapshot_rows: dict[str, list[Any]] = {i: [] for i in ids}
        if ids:
            for r in conn.execute(
                sa.select(steps).where(steps.c.migration_id.in_(ids)).order_by(steps.c.position)
            ):
                step_rows[r.migration_id].append(r._mapping)
            for r in conn.execute(
                sa.select(snapshots)
                .where(snapshots.c.migration_id.in_(ids))
                .order_by(snapshots.c.id)
            ):
                snapshot_rows[r.migration_id].append(r._mapping)
        return [
            rows.migration_from_rows(r, step_rows[r["id"]], snapshot_rows[r["id"]]) for r in found
        ]

    def save(
        self, migration: Migration, event: Event | None = None, lease_owner: str | None = None
    ) -> Migration:
        now = time.time()
        saved = dataclasses.replace(migration, version=migration.version + 1, updated_at=now)
        guard = sa.and_(migrations.c.id == migration.id, migrations.c.version == migration.version)
        if lease_owner is not None:
            guard = sa.and_(
                guard,
                migrations.c.lease_owner == lease_owner,
                migrations.c.lease_expires_at > now,
            )
        values = rows.migration_values(saved)
        del values["id"], values["created_at"]
        with self._tx() as conn:
            updated = conn.execute(
                migrations.update().where(guard).values(**values, version=saved.version)
            )
            if updated.rowcount != 1:
                self._raise_save_conflict(conn, migration, lease_owner, now)
            conn.execute(steps.delete().where(steps.c.migration_id == migration.id))
            conn.execute(snapshots.delete().where(snapshots.c.migration_id == migration.id))
            self._write_children(conn, saved)
            if event is not None:
                conn.execute(events.insert().values(**rows.event_values(event)))
        return saved

    def _raise_save_conflict(
        self, conn: sa.Connection, migration: Migration, lease_owner: str | None, now: float
    ) -> None:
        row = conn.execute(
            sa.select(
                migrations.c.version, migrations.c.lease_owner, migrations.c.lease_expires_at
            ).where(migrations.c.id == migration.id)
        ).first()
        if row is None:
            raise NotFound(f"no migration {migration.id}")
        lease_valid = row.lease_expires_at is not None and row.lease_expires_at > now
        if lease_owner is not None and (row.lease_owner != lease_owner or not lease_valid):
            raise LeaseLost(migration.id, lease_owner)
        raise Conflict(
            f"migration {migration.id} changed since it was read"
            f" (version {migration.version}, now {row.version})"
        )

    def _write_children(self, conn: sa.Connection, migration: Migration) -> None:
        if migration.steps:
            conn.execute(
                steps.insert(),
                [rows.step_values(migration.id, i, s) for i, s in enumerate(migration.steps)],
            )
        if migration.snapshots:
            conn.execute(
                snapshots.insert(),
                [rows.snapshot_values(migration.id, s) for s in migration.snapshots],
            )

    def upsert_step(self, migration_id: str, step: Step) -> None:
        insert = sqlite.insert(steps) if self.is_sqlite else postgresql.insert(steps)
        try:
            with self._tx() as conn:
                position = conn.execute(
                    sa.select(sa.func.coalesce(sa.func.max(steps.c.position) + 1, 0)).where(
                        steps.c.migration_id == migration_id
                    )
                ).scalar_one()
                values = rows.step_values(migration_id, position, step)
                key = ("migration_id", "name", "position")
                changed = {k: v for k, v in values.items() if k not in key}
                conn.execute(
                    insert.values(**values).on_conflict_do_update(
                        index_elements=[steps.c.migration_id, steps.c.name], set_=changed
                    )
                )
        except sa.exc.IntegrityError:
            raise NotFound(f"no migration {migration_id}") from None

    def delete(self, migration_id: str) -> None:
        terminal = [s.value for s in TERMINAL_STATES]
        with self._tx() as conn:
            deleted = conn.execute(
                migrations.delete().where(
                    migrations.c.id == migration_id, migrations.c.state.in_(terminal)
                )
            )
            if deleted.rowcount == 1:
                return
            state = conn.execute(
                sa.select(migrations.c.state).where(migrations.c.id == migration_id)
            ).scalar()
        if state is None:
            raise NotFound(f"no migration {migration_id}")
        raise FailedPrecondition(
            f"migration {migration_id} is {state}; only a finished migration can be deleted"
        )

    # -- events -----------------------------------------------------------------------------

    def append_event(self, event: Event) -> Event:
        try:
            with self._tx() as conn:
                new_id = conn.execute(
                    events.insert().values(**rows.event_values(event)).returning(events.c.id)
                ).scalar_one()
        except sa.exc.IntegrityError:
            raise NotFound(f"no migration {event.migration_id}") from None
        return dataclasses.replace(event, id=new_id)

    def list_events(self, migration_id: str, after_id: int = 0, limit: int = 1000) -> list[Event]:
        with self._tx() as conn:
            found = conn.execute(
                sa.select(events)
                .where(events.c.migration_id == migration_id, events.c.id > after_id)
                .order_by(events.c.id)
                .limit(limit)
            ).all()
            if not found:
                self._require(conn, migration_id)
        return [rows.event_from_row(r._mapping) for r in found]

    def _require(self, conn: sa.Connection, migration_id: str) -> None:
        exists = conn.execute(
            sa.select(migrations.c.id).where(migrations.c.id == migration_id)
        ).first()
        if exists is None:
            raise NotFound(f"no migration {migration_id}")

    # -- leases -----------------------------------------------------------------------------

    def acquire_lease(self, migration_id: str, owner: str, ttl_seconds: float) -> Lease:
        now, expires = self._lease_times(ttl_seconds)
        free = sa.or_(
            migrations.c.lease_owner.is_(None),
            migrations.c.lease_owner == owner,
            migrations.c.lease_expires_at <= now,
        )
        with self._tx() as conn:
            taken = conn.execute(
                migrations.update()
                .where(migrations.c.id == migration_id, free)
                .values(lease_owner=owner, lease_expires_at=expires)
            )
            if taken.rowcount == 1:
                return Lease(migration_id, owner, expires)
            holder = conn.execute(
                sa.select(migrations.c.lease_owner, migrations.c.lease_expires_at).where(
                    migrations.c.id == migration_id
                )
            ).first()
        if holder is None:
            raise NotFound(f"no migration {migration_id}")
        raise LeaseHeld(migration_id, holder.lease_owner, holder.lease_expires_at)

    def renew_lease(self, migration_id: str, owner: str, ttl_seconds: float) -> Lease:
        _, expires = self._lease_times(ttl_seconds)
        with self._tx() as conn:
            renewed = conn.execute(
                migrations.update()
                .where(migrations.c.id == migration_id, migrations.c.lease_owner == owner)
                .values(lease_expires_at=expires)
            )
            if renewed.rowcount != 1:
                self._require(conn, migration_id)
                raise LeaseLost(migration_id, owner)
        return Lease(migration_id, owner, expires)

    def release_lease(self, migration_id: str, owner: str) -> None:
        with self._tx() as conn:
            conn.execute(
                migrations.update()
                .where(migrations.c.id == migration_id, migrations.c.lease_owner == owner)
                .values(lease_owner=None, lease_expires_at=None)
            )

    @staticmethod
    def _lease_times(ttl_seconds: float) -> tuple[float, float]:
        if ttl_seconds <= 0:
            raise InvalidArgument(f"lease ttl must be > 0 seconds, not {ttl_seconds}")
        now = time.time()
        return now, now + ttl_seconds
