"""The whole compose project: each migration keeps the source's project as validation saw it
(`source_project`: the -f list, env files, profiles, running services and every carried file
with its content), so that the plan can be made again with the source stopped or gone, and
the files as planned (`carried_files`: where each lands on the target, its diff).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "migrations", sa.Column("source_project", sa.JSON, nullable=False, server_default="{}")
    )
    op.add_column(
        "migrations", sa.Column("carried_files", sa.JSON, nullable=False, server_default="[]")
    )


def downgrade() -> None:
    with op.batch_alter_table("migrations") as batch:
        batch.drop_column("carried_files")
        batch.drop_column("source_project")
