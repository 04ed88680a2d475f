"""The migration says which agent its driver waits for: `waiting` ("" when it waits for none).

The NEEDS_ATTENTION state needs no schema change: states are strings, and such a migration
keeps its `active_stack` like any migration that has not ended. A downgrade cannot show that
state to the older code, which knows no way out of it: it becomes FAILED, its error kept.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("migrations", sa.Column("waiting", sa.Text, nullable=False, server_default=""))


def downgrade() -> None:
    op.execute(
        "UPDATE migrations SET state = 'FAILED', active_stack = NULL"
        " WHERE state = 'NEEDS_ATTENTION'"
    )
    with op.batch_alter_table("migrations") as batch:
        batch.drop_column("waiting")
