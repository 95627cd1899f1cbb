"""The UnitOfWork port is the one list of aggregates: a unit of work that declares another set of
repositories fails as its class is made, that is when its module is imported."""

from __future__ import annotations

import pytest

from adapters.aggregates import Repositories, Repository, declared_repositories
from adapters.memory.unit_of_work import MemoryUnitOfWork
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from ports.carts import CartRepository
from ports.unit_of_work import aggregates


def same(session: object) -> object:
    return session


def listed(session: str) -> list[str]:
    return [session]


def test_the_port_lists_its_repositories() -> None:
    found = aggregates()
    assert list(found) == ["users", "products", "carts", "orders"]
    assert found["carts"] is CartRepository


@pytest.mark.parametrize("unit", [MemoryUnitOfWork, PostgresUnitOfWork])
def test_each_adapter_declares_every_aggregate(unit: type) -> None:
    assert set(declared_repositories(unit)) == set(aggregates())


def test_a_unit_of_work_leaving_an_aggregate_out_is_refused() -> None:
    with pytest.raises(
        TypeError, match=r"declares the repositories \['carts', 'orders', 'users'\]"
    ):

        class Forgetful(Repositories[object]):
            users = Repository(same)
            carts = Repository(same)
            orders = Repository(same)


def test_a_repository_the_port_does_not_have_is_refused() -> None:
    with pytest.raises(TypeError, match="reviews"):

        class Inventive(Repositories[object]):
            users = Repository(same)
            products = Repository(same)
            carts = Repository(same)
            orders = Repository(same)
            reviews = Repository(same)


def test_a_repository_is_made_once_a_block_and_bound_to_its_session() -> None:
    class Unit(Repositories[str]):
        __slots__ = ()
        users = Repository(listed)
        products = Repository(listed)
        carts = Repository(listed)
        orders = Repository(listed)

    unit = Unit()
    unit._session, unit._made = "first", {}
    assert unit.users is unit.users
    assert unit.users == ["first"]
    unit._session, unit._made = "second", {}  # what entering a block does
    assert unit.users == ["second"]
