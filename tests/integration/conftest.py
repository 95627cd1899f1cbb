"""Fixtures of the integration tests: both adapters, PostgreSQL on a pool of the test's own (so
a connection a fault leaves stuck cannot starve the session's shared pool)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.memory import MemoryUnitOfWorkFactory
from adapters.postgres import PostgresUnitOfWorkFactory, create_pool
from ports.unit_of_work import UnitOfWorkFactory
from shopdb.testdb import configured_url, pool_config


@pytest.fixture(params=["memory", "postgres"])
def own_uow(request: pytest.FixtureRequest) -> Iterator[UnitOfWorkFactory]:
    if request.param == "memory":
        yield MemoryUnitOfWorkFactory()
        return
    url: str = request.getfixturevalue("clean_database")
    pool = create_pool(
        pool_config(
            conninfo=url,
            min_size=1,
            max_size=4,
            timeout=3.0,
            statement_timeout_ms=2000,
            deadline_margin=1.0,
        )
    )
    pool.wait()
    yield PostgresUnitOfWorkFactory(pool)
    pool.close(timeout=1.0)


@pytest.fixture
def same_server(admin_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A pytest session run by pytester uses this session's server: the configured one as it
    is, the embedded one (else a second would start) through SHOPDB_TEST_DATABASE_URL."""
    if configured_url() is None:
        monkeypatch.setenv("SHOPDB_TEST_DATABASE_URL", admin_url)
    return admin_url
