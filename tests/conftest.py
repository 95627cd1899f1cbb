"""Fixtures shared by every suite: the PostgreSQL server and a migrated database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from shopdb.migrations import upgrade
from tests.harness import HarnessError, scratch_database, server, truncate_all

DATABASE_SUITES = ("contract", "integration")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(part in DATABASE_SUITES for part in Path(str(item.path)).parts):
            item.add_marker(pytest.mark.database)


@pytest.fixture(scope="session")
def admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The maintenance database of the server: DATABASE_URL's, or an embedded throwaway one."""
    try:
        with server(tmp_path_factory.mktemp("embedded-postgres")) as url:
            yield url
    except HarnessError as exc:
        pytest.exit(str(exc), returncode=3)


@pytest.fixture(scope="session")
def database_url(admin_url: str) -> Iterator[str]:
    """A database of this test session, migrated to head."""
    with scratch_database(admin_url) as url:
        upgrade(url)
        yield url


@pytest.fixture
def clean_database(database_url: str) -> str:
    """The session's database with every table empty and ids restarting at 1."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        truncate_all(conn)
    return database_url
