"""Downtime at the floor: each migration keeps its downtime breakdown (`downtime_report`),
its converge rounds before the stop (`converge_rounds`) and the bytes the target received by
kind of stream (`moved_bytes`), so the record can show where the downtime went.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "migrations", sa.Column("downtime_report", sa.JSON, nullable=False, server_default="{}")
    )
    op.add_column(
        "migrations", sa.Column("converge_rounds", sa.JSON, nullable=False, server_default="[]")
    )
    op.add_column(
        "migrations", sa.Column("moved_bytes", sa.JSON, nullable=False, server_default="{}")
    )


def downgrade() -> None:
    with op.batch_alter_table("migrations") as batch:
        batch.drop_column("moved_bytes")
        batch.drop_column("converge_rounds")
        batch.drop_column("downtime_report")
