"""Fixtures shared by every suite: the PostgreSQL server and a migrated database."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import pytest_asyncio

from adapters.postgres import PostgresUnitOfWorkFactory, ShopdbPool, create_pool
from adapters.postgres.async_pool import AsyncShopdbPool, create_pool_async
from shopdb.testdb import pool_config, pooled

# pytester runs users' test files through shopdb's plugin (tests/integration/test_test_kit.py).
pytest_plugins = ["pytester"]

DATABASE_SUITES = ("contract", "integration", "security")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Marks the database suites, and leaves out (deselects, never skips) what belongs to the
    other run: tests of the pooler itself run only through PgBouncer, and tests that need a
    server session of their own only without it (CI runs both); tests of replicas run only
    where .ci/replicas set up a primary and its replica (SHOPDB_TEST_REPLICA_URL), tests of
    failover where it set up a formation (SHOPDB_TEST_FAILOVER_URL), tests of a Citus cluster
    where .ci/citus started one (SHOPDB_TEST_CITUS_WORKERS)."""
    behind_pooler = pooled()
    with_replicas = bool(os.environ.get("SHOPDB_TEST_REPLICA_URL"))
    with_formation = bool(os.environ.get("SHOPDB_TEST_FAILOVER_URL"))
    with_citus = bool(os.environ.get("SHOPDB_TEST_CITUS_WORKERS"))
    kept: list[pytest.Item] = []
    left_out: list[pytest.Item] = []
    for item in items:
        if any(part in DATABASE_SUITES for part in Path(str(item.path)).parts):
            item.add_marker(pytest.mark.database)
        other_run = (
            item.get_closest_marker("needs_session") is not None
            if behind_pooler
            else item.get_closest_marker("pooler_only") is not None
        )
        if item.get_closest_marker("replicas") is not None and not with_replicas:
            other_run = True
        if item.get_closest_marker("failover") is not None and not with_formation:
            other_run = True
        if item.get_closest_marker("citus") is not None and not with_citus:
            other_run = True
        (left_out if other_run else kept).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


@pytest.fixture(scope="session")
def admin_url(shopdb_admin_url: str) -> str:
    """The maintenance database of the server: the plugin's (DATABASE_URL's, or an embedded
    throwaway one), so that this suite and the plugin's fixtures share one server."""
    return shopdb_admin_url


@pytest.fixture(scope="session")
def database_url(shopdb_database_url: str) -> str:
    """A database of this test session, migrated to head (directly), reached as the
    application reaches it (through the pooler in the pooler run): the plugin's."""
    return shopdb_database_url


@pytest.fixture
def clean_database(shopdb_clean_database_url: str) -> str:
    """The session's database with every table empty and ids restarting at 1."""
    return shopdb_clean_database_url


class CountingCursor(psycopg.Cursor[Any]):
    def execute(self, *args: Any, **kwargs: Any) -> Any:
        if args and args[0] != "":  # the empty query is the pool's liveness check
            CountingConnection.statements += 1
        return super().execute(*args, **kwargs)


class CountingConnection(psycopg.Connection[Any]):
    """Counts the statements sent, each a round trip: how the query budget is measured. Every
    statement goes through a cursor, whether made by `cursor()` or by `execute()`."""

    statements = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cursor_factory = CountingCursor


@pytest.fixture(scope="session")
def pg_pool(database_url: str) -> Iterator[ShopdbPool]:
    pool = create_pool(
        pool_config(
            conninfo=database_url,
            min_size=2,
            max_size=8,
            timeout=10,
            connection_class=CountingConnection,
        )
    )
    pool.wait()
    yield pool
    pool.close()


@pytest.fixture
def postgres_uow(clean_database: str, pg_pool: ShopdbPool) -> PostgresUnitOfWorkFactory:
    return PostgresUnitOfWorkFactory(pg_pool)


class CountingAsyncCursor(psycopg.AsyncCursor[Any]):
    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        if args and args[0] != "":
            CountingConnection.statements += 1
        return await super().execute(*args, **kwargs)


class CountingAsyncConnection(psycopg.AsyncConnection[Any]):
    """CountingConnection's async twin: it counts into the same tally."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cursor_factory = CountingAsyncCursor


# The async suites share one event loop for the session (pyproject: asyncio's loop scopes), so
# one async pool serves them all, as one sync pool serves the sync ones.
@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def pg_pool_async(database_url: str) -> AsyncIterator[AsyncShopdbPool]:
    pool = create_pool_async(
        pool_config(conninfo=database_url, min_size=2, max_size=8, timeout=10),
        CountingAsyncConnection,
    )
    await pool.open(wait=True)
    yield pool
    await pool.close()


@pytest.fixture
def postgres_uow_async(clean_database: str, pg_pool_async: AsyncShopdbPool) -> Any:
    """An AsyncPostgresUnitOfWorkFactory over the session's async pool, on a clean database."""
    from adapters.postgres.unit_of_work_async import AsyncPostgresUnitOfWorkFactory

    return AsyncPostgresUnitOfWorkFactory(pg_pool_async)
