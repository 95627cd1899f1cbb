"""shopdb's pytest plugin, loaded by pytest wherever shopdb is installed (entry point
`pytest11`): fixtures for tests of an application built on shopdb. Only pytest imports this
module, and it imports nothing else of shopdb until a fixture is used."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from adapters.hashing import InsecureTestHasher
    from shopdb.container import Container


@pytest.fixture(scope="session")
def shopdb_admin_url() -> Iterator[str]:
    """The maintenance database of the test server: SHOPDB_TEST_DATABASE_URL's or DATABASE_URL's
    server (their own database is never written), else a throwaway embedded one (the
    `embedded` extra), deleted at the end. An unusable one stops the run with one line."""
    from shopdb.testdb import HarnessError, server_for_tests

    try:
        with server_for_tests() as url:
            yield url
    except HarnessError as exc:
        pytest.exit(str(exc), returncode=3)


@pytest.fixture(scope="session")
def shopdb_database_url(shopdb_admin_url: str) -> Iterator[str]:
    """A database of this test session, migrated to head, dropped at the end."""
    from shopdb.testdb import migrated, scratch_database, through_pooler

    try:
        import shopdb.migrations  # noqa: F401
    except ImportError as exc:
        pytest.exit(f"the test database is migrated with shopdb[migrations] ({exc.name})", 3)
    with scratch_database(shopdb_admin_url) as url:
        migrated(url)
        yield through_pooler(url)


@pytest.fixture
def shopdb_clean_database_url(shopdb_database_url: str) -> str:
    """The session's database with every table empty and ids restarting at 1."""
    import psycopg

    from shopdb.testdb import truncate_all

    with psycopg.connect(shopdb_database_url, autocommit=True) as conn:
        truncate_all(conn)
    return shopdb_database_url


@pytest.fixture
def shopdb_hasher() -> InsecureTestHasher:
    """The fast test-only hasher, for services built by hand."""
    from adapters.hashing import InsecureTestHasher

    return InsecureTestHasher()


@pytest.fixture
def shopdb_memory_container() -> Iterator[Container]:
    """A container on new, empty fakes, with the fast hasher."""
    from shopdb.testing import memory_container

    with memory_container() as container:
        yield container


@pytest.fixture
def shopdb_postgres_container(shopdb_clean_database_url: str) -> Iterator[Container]:
    """A container on the session's database, emptied before the test, with the fast hasher."""
    from shopdb.testing import postgres_container

    with postgres_container(shopdb_clean_database_url) as container:
        yield container


# Async fixtures where pytest-asyncio runs them; the plugin needs neither otherwise.
if importlib.util.find_spec("pytest_asyncio") is not None:
    import pytest_asyncio

    @pytest_asyncio.fixture
    async def shopdb_async_postgres_container(
        shopdb_clean_database_url: str,
    ) -> AsyncIterator[Container]:
        """`shopdb_postgres_container` for async tests: its async services' pool opens in the
        test's event loop and is closed there after the test (`close_async`)."""
        from shopdb.container import close_async
        from shopdb.testing import postgres_container

        with postgres_container(shopdb_clean_database_url) as container:
            try:
                yield container
            finally:
                await close_async(container)
