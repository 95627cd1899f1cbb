"""What an application's tests need from shopdb, with or without pytest: settings that admit
the fast test-only hasher, and containers on the fakes or on a test database. The pytest
plugin (`shopdb.pytest_plugin`) makes fixtures of them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from dependency_injector import providers

from adapters.hashing import InsecureTestHasher
from shopdb.container import Container
from shopdb.settings import Backend, Settings

__all__ = ["InsecureTestHasher", "TestSettings", "memory_container", "postgres_container"]


class TestSettings(Settings):
    """Settings of a test: the only ones with which the container accepts InsecureTestHasher.
    Testing is a class, not a variable, so no environment or `.env` of a deployed application
    can switch it on; production code would have to import this module to get it."""

    __test__ = False  # not a test class, whatever its name
    testing: ClassVar[bool] = True


@contextmanager
def memory_container(**settings: Any) -> Iterator[Container]:
    """A container on new, empty fakes with InsecureTestHasher; shut down afterwards.
    `settings` override TestSettings' fields (which read the environment as Settings do)."""
    container = Container(settings=TestSettings(**{"backend": Backend.MEMORY, **settings}))
    with container.password_hasher.override(providers.Object(InsecureTestHasher())):
        try:
            yield container
        finally:
            container.shutdown_resources()


@contextmanager
def postgres_container(database_url: str, **settings: Any) -> Iterator[Container]:
    """A container on the migrated database at `database_url`, with InsecureTestHasher and a
    pool of its own (one connection to start with), closed afterwards."""
    fields: dict[str, Any] = {
        "backend": Backend.POSTGRES,
        "DATABASE_URL": database_url,
        "pool_min_size": 1,
        **settings,
    }
    container = Container(settings=TestSettings(**fields))
    with container.password_hasher.override(providers.Object(InsecureTestHasher())):
        try:
            yield container
        finally:
            container.shutdown_resources()
