"""Every mount has a mover: the migration keeps its mount inventory (`mounts`: each mount with
its mover and why) and the trees the file mover copies (`files`, with the bytes each moved),
so that a resumed migration and its record know them without asking the source again.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("migrations", sa.Column("files", sa.JSON, nullable=False, server_default="[]"))
    op.add_column("migrations", sa.Column("mounts", sa.JSON, nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("migrations") as batch:
        batch.drop_column("mounts")
        batch.drop_column("files")
