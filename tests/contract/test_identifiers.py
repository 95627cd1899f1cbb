# Generated from test_identifiers_async.py (tools/generate_sync.py): edit that instead.
"""Ids that are not ids (bools, floats, strings, None, out of range) are refused by every
repository method that takes one, on both adapters, before any statement: nothing changes."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from domain.errors import InvalidInput, RollbackRequired
from domain.model import NewProduct, ProductChanges
from domain.values import INT8_MAX
from ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from tests.contract.helpers import add_product, add_user, snapshot

NOT_IDS: list[object] = [True, False, 1.0, "1", None, 0, -1, INT8_MAX + 1, 2**64, Decimal(1)]

Call = Callable[[UnitOfWork, Any], object]
# Every repository method that takes an id, with the id under test in one position and valid
# values (those of the rows `_shop` makes, all id 1) everywhere else.
CALLS: dict[str, Call] = {
    "users.get": lambda w, x: w.users.get(x),
    "users.change_email": lambda w, x: w.users.change_email(x, "new@example.com"),
    "users.delete": lambda w, x: w.users.delete(x),
    "products.get": lambda w, x: w.products.get(x),
    "products.get_many": lambda w, x: w.products.get_many([1, x]),
    "products.update": lambda w, x: w.products.update(x, 1, ProductChanges(name="Moved")),
    "products.update(version)": lambda w, x: w.products.update(1, x, ProductChanges(name="M")),
    "products.delete": lambda w, x: w.products.delete(x),
    "products.restock": lambda w, x: w.products.restock(x, 1),
    "products.reserve": lambda w, x: w.products.reserve(x, 1),
    "carts.get_or_create": lambda w, x: w.carts.get_or_create(x),
    "carts.get": lambda w, x: w.carts.get(x),
    "carts.find_for_user": lambda w, x: w.carts.find_for_user(x),
    "carts.find_for_user(lock)": lambda w, x: w.carts.find_for_user(x, lock=True),
    "carts.add_item(cart)": lambda w, x: w.carts.add_item(x, 1, 1),
    "carts.add_item(product)": lambda w, x: w.carts.add_item(1, x, 1),
    "carts.set_quantity(cart)": lambda w, x: w.carts.set_quantity(x, 1, 2),
    "carts.set_quantity(product)": lambda w, x: w.carts.set_quantity(1, x, 2),
    "carts.remove_item(cart)": lambda w, x: w.carts.remove_item(x, 1),
    "carts.remove_item(product)": lambda w, x: w.carts.remove_item(1, x),
    "carts.set_quantity_for_user(user)": lambda w, x: w.carts.set_quantity_for_user(x, 1, 2),
    "carts.set_quantity_for_user(product)": lambda w, x: w.carts.set_quantity_for_user(1, x, 2),
    "carts.remove_for_user(user)": lambda w, x: w.carts.remove_for_user(x, 1),
    "carts.remove_for_user(product)": lambda w, x: w.carts.remove_for_user(1, x),
    "carts.clear": lambda w, x: w.carts.clear(x),
}
# Refused reads roll nothing back; refused writes roll back like any failed write.
READS = {
    "users.get",
    "products.get",
    "products.get_many",
    "carts.get",
    "carts.find_for_user",
    "carts.find_for_user(lock)",
}


def _shop(uow: UnitOfWorkFactory) -> None:
    """User 1 with cart 1 holding product 1: each call above would change it given id 1."""
    add_user(uow, "alice")
    add_product(uow, "Lamp", "1.00", 5)
    with uow() as work:
        cart = work.carts.get_or_create(1)
        work.carts.add_item(cart.id, 1, 1)
        work.commit()


@pytest.mark.parametrize("call", list(CALLS))
def test_every_method_refuses_what_is_not_an_id(uow: UnitOfWorkFactory, call: str) -> None:
    _shop(uow)
    before = snapshot(uow)
    for value in NOT_IDS:
        with uow() as work:
            with pytest.raises(InvalidInput) as info:
                CALLS[call](work, value)
            if call in READS:
                work.commit()
            else:  # the refused write is named until the caller rolls back
                with pytest.raises(RollbackRequired, match=call.split("(")[0]):
                    work.commit()
        assert "id" in str(info.value) or "version" in str(info.value), (call, value)
    assert snapshot(uow) == before


def test_get_many_refuses_a_string_or_a_mapping(uow: UnitOfWorkFactory) -> None:
    add_product(uow)
    with uow(read_only=True) as work:
        for value in ("1", b"1", {1: 1}, 1):
            with pytest.raises(InvalidInput, match="product_ids"):
                work.products.get_many(value)  # type: ignore[arg-type]


def test_a_refused_id_in_a_write_rolls_back_like_any_failed_write(
    uow: UnitOfWorkFactory,
) -> None:
    """One rule for every write that raises, even before anything ran: the unit of work
    is rolled back to its last commit and refuses writes until the caller rolls back. A refused
    id in a read rolls nothing back."""
    with uow() as work:
        lamp = work.products.add(NewProduct(name="Lamp", price=Decimal(1)))
        work.commit()
        work.products.restock(lamp.id, 5)
        with pytest.raises(InvalidInput):
            work.products.get(True)
        work.products.restock(lamp.id, 5)
        with pytest.raises(InvalidInput):
            work.products.restock(True, 1)
        with pytest.raises(RollbackRequired, match=r"products\.restock \(InvalidInput\)"):
            work.products.restock(lamp.id, 5)
        with pytest.raises(RollbackRequired):
            work.commit()
        work.rollback()
        work.commit()
    with uow(read_only=True) as work:
        assert work.products.get(lamp.id) == lamp
