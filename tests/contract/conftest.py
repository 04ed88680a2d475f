"""Fixtures of the store contract suite: one database per backend, created for the test and
dropped after it, so concurrent runs (and other engineers) never share tables.

PostgreSQL gets a fresh schema per test, selected with the connection's search_path; when the
server is down the pg_url fixture skips locally and fails under CI.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from controller.store.sql import SqlMigrationStore, sqlite_url

StoreFactory = Callable[[], SqlMigrationStore]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "controller.db")
        return
    base_url: str = request.getfixturevalue("pg_url")
    schema = f"sf_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def open_store(store_url: str) -> Iterator[StoreFactory]:
    """Opens stores on the test's database, each standing for one controller process."""
    opened: list[SqlMigrationStore] = []

    def open_one() -> SqlMigrationStore:
        store = SqlMigrationStore(store_url)
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: StoreFactory) -> SqlMigrationStore:
    return open_store()
