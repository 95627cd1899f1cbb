"""The UnitOfWork port is the one list of aggregates: each adapter's unit of work finds the
repository of every aggregate in its own package, by name, and one that is missing fails as
the unit of work's class is made, that is when its module is imported."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.aggregates import Repositories, declared_repositories, implementation
from adapters.memory.carts import MemoryCartRepository
from adapters.memory.unit_of_work import MemoryUnitOfWork
from adapters.postgres.carts import PostgresCartRepository
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from ports.carts import CartRepository
from ports.unit_of_work import UnitOfWork, aggregates


def test_the_port_lists_its_repositories() -> None:
    found = aggregates()
    assert {"carts", "orders", "products", "users"} <= set(found)
    assert list(found) == sorted(found)
    assert found["carts"] is CartRepository


@pytest.mark.parametrize(
    ("unit", "carts"),
    [(MemoryUnitOfWork, MemoryCartRepository), (PostgresUnitOfWork, PostgresCartRepository)],
)
def test_each_adapter_reaches_every_aggregate_through_its_own_repository(
    unit: type, carts: type
) -> None:
    declared = declared_repositories(unit)
    assert set(declared) == set(aggregates())
    assert declared["carts"].make is carts


def test_a_missing_module_or_class_is_named() -> None:
    with pytest.raises(TypeError, match=r"no module adapters\.memory\.wishes"):
        implementation("adapters.memory", "wishes", "MemoryWishRepository")
    with pytest.raises(TypeError, match=r"adapters\.memory\.users defines no class Memory"):
        implementation("adapters.memory", "users", "MemoryWishRepository")


def test_a_unit_of_work_whose_package_lacks_a_repository_is_refused_as_it_is_made() -> None:
    # This test's package has no module `carts`: the class cannot be made.
    with pytest.raises(TypeError, match=r"no module tests\.unit\.carts"):

        class StrayUnitOfWork(Repositories[Any], UnitOfWork):
            __slots__ = ()


def test_a_repository_is_made_once_a_block_and_bound_to_its_session() -> None:
    unit = object.__new__(MemoryUnitOfWork)
    unit._session, unit._made = "first", {}  # type: ignore[assignment]
    assert unit.carts is unit.carts
    assert unit.carts._tx == "first"  # type: ignore[attr-defined]
    unit._session, unit._made = "second", {}  # type: ignore[assignment]  # a new block
    assert unit.carts._tx == "second"  # type: ignore[attr-defined]
