"""Alembic environment: runs the revisions on the connection the store hands over
(config.attributes["connection"]), or on `-x url=...` when run from the alembic CLI."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from stackferry.controller.store.tables import metadata


def run_on(connection: sa.Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise SystemExit("pass the database URL: alembic -x url=... upgrade head")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            run_on(conn)
    finally:
        engine.dispose()


run()
