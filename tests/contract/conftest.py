"""Every contract test runs twice: on the in-memory adapter and on PostgreSQL."""

from __future__ import annotations

import pytest

from adapters.memory import MemoryUnitOfWorkFactory
from ports.unit_of_work import UnitOfWorkFactory


@pytest.fixture(params=["memory", "postgres"])
def uow(request: pytest.FixtureRequest) -> UnitOfWorkFactory:
    if request.param == "memory":
        return MemoryUnitOfWorkFactory()
    factory: UnitOfWorkFactory = request.getfixturevalue("postgres_uow")
    return factory
