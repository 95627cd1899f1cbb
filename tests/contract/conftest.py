"""Every contract test runs twice: on the in-memory adapter and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from adapters.memory import MemoryUnitOfWorkFactory
from adapters.postgres import PoolConfig, PostgresUnitOfWorkFactory, create_pool
from ports.unit_of_work import UnitOfWorkFactory


class CountingConnection(psycopg.Connection[Any]):
    """Counts the statements sent, each a round trip: how the query budget is measured."""

    statements = 0

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        CountingConnection.statements += 1
        return super().execute(*args, **kwargs)


@pytest.fixture(scope="session")
def pg_pool(database_url: str) -> Iterator[ConnectionPool[Any]]:
    pool = create_pool(
        PoolConfig(
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
def postgres_uow(clean_database: str, pg_pool: ConnectionPool[Any]) -> PostgresUnitOfWorkFactory:
    return PostgresUnitOfWorkFactory(pg_pool)


@pytest.fixture(params=["memory", "postgres"])
def uow(request: pytest.FixtureRequest) -> UnitOfWorkFactory:
    if request.param == "memory":
        return MemoryUnitOfWorkFactory()
    factory: UnitOfWorkFactory = request.getfixturevalue("postgres_uow")
    return factory
