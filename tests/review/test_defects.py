"""Defects found by attacking the documented contract (README, port and service docstrings),
kept as regression tests: each failed before its fix and guards the rule it names."""

from __future__ import annotations

import pytest

from adapters.postgres import PostgresUnitOfWorkFactory
from domain.errors import CartFull, UnitOfWorkNotActive
from domain.model import CartItem
from ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from services import CartService
from tests.contract.helpers import add_product, add_user
from tests.review.helpers import add_products, fill_cart, in_own_unit, while_held


@pytest.mark.parametrize(
    ("first", "second"),
    [("add_item", "add_item"), ("add_item", "add_for_user"), ("add_for_user", "add_item")],
)
def test_the_line_cap_holds_against_concurrent_add_item(
    postgres_uow: PostgresUnitOfWorkFactory, clean_database: str, first: str, second: str
) -> None:
    """Fixed by migration 0009 (PostgreSQL). Before: `CartRepository.add_item` did not lock the
    cart before counting its lines, so a second add of a new product, started while a first one
    holds its uncommitted 1,000th line, counts 999 committed lines, does not wait, and commits
    line 1,001. Observed: 1,001 lines and no CartFull; expected: the second add waits and raises
    CartFull (README: "A cart holds at most 1,000 lines"). Only two `add_for_user` calls are
    safe: any mix with the public port's `add_item` passes the cap, so the cap is not a rule of
    the store. The fake holds it (its adds are serialized)."""
    uow = postgres_uow
    add_products(uow, 1001)
    alice = add_user(uow)
    cart = fill_cart(uow, alice.id, 999)

    def add(work: UnitOfWork, how: str, product_id: int) -> CartItem:
        if how == "add_item":
            return work.carts.add_item(cart.id, product_id, 1)
        return work.carts.add_for_user(alice.id, product_id, 1)

    waited, outcome = while_held(
        uow,
        clean_database,
        lambda holder: add(holder, first, 1000),
        in_own_unit(uow, lambda work: add(work, second, 1001)),
    )
    with uow(read_only=True) as work:
        lines = len(work.carts.get(cart.id).items)
    print(f"\n{first} then {second}: waited={waited}, second got {outcome}, {lines} lines")
    assert lines == 1000
    assert len(outcome) == 1
    assert isinstance(outcome[0], CartFull)


def test_a_repository_from_an_earlier_block_stays_refused_after_reentry(
    uow: UnitOfWorkFactory,
) -> None:
    """Fixed in the fake (each entry gets fresh repositories). Before: a repository taken inside a
    unit of work's first `with` block worked again once the same unit of work is entered a
    second time: in the fake, `products.reserve` through the stale reference takes stock and the
    second block's commit stores it; on PostgreSQL the same call raises UnitOfWorkNotActive. The
    port says a repository taken from a unit of work refuses work after the block exits, and
    both adapters must behave alike; code tested on the fake would break on PostgreSQL."""
    alice = add_user(uow)
    lamp = add_product(uow, inventory=10)
    CartService(uow).add_to_cart(alice.id, lamp.id, 1)
    work = uow()
    with work:
        products = work.products  # a reference that outlives the block
    refused = False
    try:
        with work:
            try:
                products.reserve(lamp.id, 1)
            except UnitOfWorkNotActive:
                refused = True
            work.commit()
    except UnitOfWorkNotActive:
        refused = True  # refusing the re-entry itself keeps the contract too
    with uow(read_only=True) as reader:
        stock = reader.products.get(lamp.id).inventory_count
    assert (refused, stock) == (True, 10)
