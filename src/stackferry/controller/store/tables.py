"""The SQL tables of the store, as SQLAlchemy Core metadata.

Alembic migrations (controller/store/alembic/versions/) create the schema; this module only
describes it for queries, and a contract test checks both agree.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit one.
AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

migrations = sa.Table(
    "migrations",
    metadata,
    sa.Column("seq", AUTO_ID, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(64), nullable=False, unique=True),
    sa.Column("state", sa.String(32), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("spec", sa.JSON, nullable=False),
    # source agent + compose path (or project name) while not terminal, NULL after: the unique
    # index refuses a second running migration of the same stack, atomically, on every backend.
    sa.Column("active_stack", sa.Text, nullable=True, unique=True),
    sa.Column("project_name", sa.Text, nullable=False),
    sa.Column("compose_text", sa.Text, nullable=False),
    sa.Column("env_text", sa.Text, nullable=False),
    sa.Column("datasets", sa.JSON, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("pending_action", sa.String(32), nullable=True),
    sa.Column("downtime_seconds", sa.Double, nullable=True),
    sa.Column("bytes_transferred", sa.BigInteger, nullable=False),
    sa.Column("source_stopped_at", sa.Double, nullable=True),
    sa.Column("target_serving_at", sa.Double, nullable=True),
    sa.Column("waiting", sa.Text, nullable=False, server_default=""),
    sa.Column("files", sa.JSON, nullable=False, server_default="[]"),
    sa.Column("mounts", sa.JSON, nullable=False, server_default="[]"),
    sa.Column("downtime_report", sa.JSON, nullable=False, server_default="{}"),
    sa.Column("converge_rounds", sa.JSON, nullable=False, server_default="[]"),
    sa.Column("moved_bytes", sa.JSON, nullable=False, server_default="{}"),
    sa.Column("source_project", sa.JSON, nullable=False, server_default="{}"),
    sa.Column("carried_files", sa.JSON, nullable=False, server_default="[]"),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Column("lease_owner", sa.String(200), nullable=True),
    sa.Column("lease_expires_at", sa.Double, nullable=True),
)

steps = sa.Table(
    "steps",
    metadata,
    sa.Column(
        "migration_id",
        sa.String(64),
        sa.ForeignKey("migrations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("started_at", sa.Double, nullable=True),
    sa.Column("ended_at", sa.Double, nullable=True),
    sa.Column("bytes_done", sa.BigInteger, nullable=False),
    sa.Column("bytes_expected", sa.BigInteger, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
)

snapshots = sa.Table(
    "snapshots",
    metadata,
    sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
    sa.Column(
        "migration_id",
        sa.String(64),
        sa.ForeignKey("migrations.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("host", sa.String(16), nullable=False),
    sa.Column("dataset", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("guid", sa.String(32), nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
    sa.Column(
        "migration_id",
        sa.String(64),
        sa.ForeignKey("migrations.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("time", sa.Double, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("step", sa.String(64), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("bytes_done", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("bytes_expected", sa.BigInteger, nullable=False, server_default="0"),
)
