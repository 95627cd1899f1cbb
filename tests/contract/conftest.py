"""Every contract test runs twice: on the in-memory adapter and on PostgreSQL; a test module
whose name ends in `_async` gets the async adapters, the others the sync ones."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from adapters.memory import MemoryUnitOfWorkFactory
from ports.unit_of_work import UnitOfWorkFactory

if TYPE_CHECKING:
    from ports.unit_of_work_async import AsyncUnitOfWorkFactory


@pytest.fixture(params=["memory", "postgres"])
def uow(request: pytest.FixtureRequest) -> UnitOfWorkFactory | AsyncUnitOfWorkFactory:
    """One fixture name for both sides, so that a test module reads the same in its async source
    and in the sync module generated from it."""
    if request.module.__name__.endswith("_async"):
        if request.param == "memory":
            # Imported here: the sync suite does not depend on the async fake.
            from adapters.memory.unit_of_work_async import AsyncMemoryUnitOfWorkFactory

            return AsyncMemoryUnitOfWorkFactory()
        async_factory: AsyncUnitOfWorkFactory = request.getfixturevalue("postgres_uow_async")
        return async_factory
    if request.param == "memory":
        return MemoryUnitOfWorkFactory()
    factory: UnitOfWorkFactory = request.getfixturevalue("postgres_uow")
    return factory


@pytest.fixture
def short_switch_interval() -> Iterator[None]:
    """Threads switch after every few bytecodes, so a check-then-write race in Python code
    (the fake) shows up as readily as it does between database sessions."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)
