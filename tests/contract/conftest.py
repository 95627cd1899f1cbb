"""Every contract test runs twice: on the in-memory adapter and on PostgreSQL."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from adapters.memory import MemoryUnitOfWorkFactory
from ports.unit_of_work import UnitOfWorkFactory


@pytest.fixture(params=["memory", "postgres"])
def uow(request: pytest.FixtureRequest) -> UnitOfWorkFactory:
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
