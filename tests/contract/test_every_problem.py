# Generated from test_every_problem_async.py (tools/generate_sync.py): edit that instead.
"""InvalidInput names every bad argument of a call, not only the first, on both adapters:
a caller fixes a form in one round instead of one field per round."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from adapters.hashing import Argon2PasswordHasher
from domain.errors import InvalidInput
from ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from services.accounts import AccountService
from services.catalog import CatalogService
from services.orders import OrderService
from tests.contract.helpers import add_product, add_user, snapshot


def _accounts(uow: UnitOfWorkFactory) -> AccountService:
    return AccountService(uow, Argon2PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


def _in_unit(uow: UnitOfWorkFactory, action: Callable[[UnitOfWork], object]) -> object:
    with uow() as work:
        result = action(work)
        work.commit()
    return result


# Each call with every argument bad, and the names its refusal must list.
CALLS: dict[str, tuple[Callable[[UnitOfWorkFactory], object], list[str]]] = {
    "register": (
        lambda u: _accounts(u).register("a", "not an email", "short"),
        ["username", "email", "password"],
    ),
    "update_product": (
        lambda u: CatalogService(u).update_product(True, 0, name="", price="1.001"),
        ["product_id", "expected_version", "name", "price"],
    ),
    "order_history": (
        lambda u: OrderService(u).order_history(True, limit=0, cursor="!"),
        ["user_id", "limit", "cursor"],
    ),
    "users.change_email": (
        lambda u: _in_unit(u, lambda w: w.users.change_email(0, "nope")),
        ["user_id", "email"],
    ),
    "products.update": (
        lambda u: _in_unit(u, lambda w: w.products.update(0, 0, "name")),  # type: ignore[arg-type]
        ["product_id", "expected_version", "changes"],
    ),
    "products.restock": (
        lambda u: _in_unit(u, lambda w: w.products.restock(0, 0)),
        ["product_id", "quantity"],
    ),
    "products.reserve": (
        lambda u: _in_unit(u, lambda w: w.products.reserve("1", 1.0)),  # type: ignore[arg-type]
        ["product_id", "quantity"],
    ),
    "carts.add_item": (
        lambda u: _in_unit(u, lambda w: w.carts.add_item(0, 0, 0)),
        ["cart_id", "product_id", "quantity"],
    ),
    "carts.set_quantity": (
        lambda u: _in_unit(u, lambda w: w.carts.set_quantity(0, 0, 0)),
        ["cart_id", "product_id", "quantity"],
    ),
    "carts.set_quantity_for_user": (
        lambda u: _in_unit(u, lambda w: w.carts.set_quantity_for_user(0, 0, 0)),
        ["user_id", "product_id", "quantity"],
    ),
    "carts.remove_item": (
        lambda u: _in_unit(u, lambda w: w.carts.remove_item(0, 0)),
        ["cart_id", "product_id"],
    ),
    "carts.remove_for_user": (
        lambda u: _in_unit(u, lambda w: w.carts.remove_for_user(0, 0)),
        ["user_id", "product_id"],
    ),
    "orders.place": (
        lambda u: _in_unit(u, lambda w: w.orders.place(0, "")),
        ["user_id", "idempotency_key"],
    ),
    "orders.get": (
        lambda u: _in_unit(u, lambda w: w.orders.get(0, 0)),
        ["user_id", "order_id"],
    ),
    "orders.list_for_user": (
        lambda u: _in_unit(u, lambda w: w.orders.list_for_user(0, limit=0, cursor="!")),
        ["user_id", "limit", "cursor"],
    ),
}


@pytest.mark.parametrize("call", list(CALLS))
def test_every_bad_argument_is_named(uow: UnitOfWorkFactory, call: str) -> None:
    add_user(uow, "alice")
    add_product(uow, "Lamp", "1.00", 5)
    before = snapshot(uow)
    action, names = CALLS[call]
    with pytest.raises(InvalidInput) as info:
        action(uow)
    problems: Any = info.value.problems
    named = [name for name in names if any(p.startswith(f"{name}:") for p in problems)]
    assert named == names, (call, problems)
    assert snapshot(uow) == before
