"""Typed progress in the event log, the FAILING state, no transfer method in the spec.

Events get `bytes_done` / `bytes_expected` (0 for the events written before). A failure
before the stop used to be FAILED while it still owed the discard of its snapshots; that is
FAILING now (no terminal state owes an action), so such a migration is resumed. The stored
spec JSON loses `transfer_method`: zfs_send is the only method, and only the API names it.

Revision ID: 0002
Revises: 0001
Create Date: 2025-02-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# In SQL rather than a Python loop over the rows, so that `alembic upgrade --sql` prints it.
DROP_METHOD = {
    "sqlite": "UPDATE migrations SET spec = json_remove(spec, '$.transfer_method')",
    "postgresql": "UPDATE migrations SET spec = (spec::jsonb - 'transfer_method')::json",
}
ADD_METHOD = {
    "sqlite": "UPDATE migrations SET spec = json_set(spec, '$.transfer_method', 'zfs_send')",
    "postgresql": (
        "UPDATE migrations SET spec ="
        " jsonb_set(spec::jsonb, '{transfer_method}', '\"zfs_send\"')::json"
    ),
}


def upgrade() -> None:
    op.add_column(
        "events", sa.Column("bytes_done", sa.BigInteger, nullable=False, server_default="0")
    )
    op.add_column(
        "events", sa.Column("bytes_expected", sa.BigInteger, nullable=False, server_default="0")
    )
    op.execute(DROP_METHOD[op.get_context().dialect.name])
    # active_stack stays NULL: the discard's end (FAILED) needs none, and a newer migration of
    # the same stack may hold it already.
    op.execute(
        "UPDATE migrations SET state = 'FAILING'"
        " WHERE state = 'FAILED' AND pending_action IS NOT NULL"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE migrations SET state = 'FAILED', active_stack = NULL WHERE state = 'FAILING'"
    )
    op.execute(ADD_METHOD[op.get_context().dialect.name])
    with op.batch_alter_table("events") as batch:
        batch.drop_column("bytes_expected")
        batch.drop_column("bytes_done")
