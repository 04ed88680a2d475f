"""Fixtures of the store contract suite: one database per backend, created for the test and
dropped after it, so concurrent runs (and other engineers) never share tables.

PostgreSQL gets a fresh schema per test (tests/conftest.py's pg_schema_url); when the server is
down the pg_url fixture skips locally and fails under CI.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from stackferry.controller.config import sqlite_url
from stackferry.controller.store.sql import SqlMigrationStore

StoreFactory = Callable[[], SqlMigrationStore]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "controller.db")
    schema_url: str = request.getfixturevalue("pg_schema_url")
    return schema_url


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
