"""Initial schema: migrations, steps, snapshots, events.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "migrations",
        sa.Column("seq", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False, unique=True),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
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
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("updated_at", sa.Double, nullable=False),
        sa.Column("lease_owner", sa.String(200), nullable=True),
        sa.Column("lease_expires_at", sa.Double, nullable=True),
    )
    op.create_index("ix_migrations_state", "migrations", ["state"])
    op.create_table(
        "steps",
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
    op.create_table(
        "snapshots",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column(
            "migration_id",
            sa.String(64),
            sa.ForeignKey("migrations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("host", sa.String(16), nullable=False),
        sa.Column("dataset", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("guid", sa.String(32), nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
    )
    op.create_index("ix_snapshots_migration_id", "snapshots", ["migration_id"])
    op.create_table(
        "events",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column(
            "migration_id",
            sa.String(64),
            sa.ForeignKey("migrations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("time", sa.Double, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("step", sa.String(64), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
    )
    op.create_index("ix_events_migration_id", "events", ["migration_id"])


def downgrade() -> None:
    op.drop_table("events")
    op.drop_table("snapshots")
    op.drop_table("steps")
    op.drop_table("migrations")
