# Generated from test_argument_types_async.py (tools/generate_sync.py): edit that instead.
"""One rule for every public argument, on both adapters: the declared type or InvalidInput.
Text is a str (bytes are never decoded), a limit an int (not True, "5" or 5.0), a flag a bool
(not "yes" or 1); a refused call stores nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from adapters.hashing import Argon2PasswordHasher
from domain.errors import InvalidInput
from domain.search import ProductQuery
from ports.unit_of_work import UnitOfWorkFactory
from services.accounts import AccountService
from services.catalog import CatalogService
from tests.contract.helpers import add_product, add_user, snapshot

PASSWORD = "a long password"
Call = Callable[[UnitOfWorkFactory, Any], object]


def _accounts(uow: UnitOfWorkFactory) -> AccountService:
    return AccountService(uow, Argon2PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


def _in_unit(uow: UnitOfWorkFactory, action: Callable[[Any], object]) -> object:
    with uow() as work:
        result = action(work)
        work.commit()
    return result


# Each call with the value under test in one text argument and valid values elsewhere; the
# value is the bytes of a valid one, which lax validation would decode and store.
TEXT_CALLS: dict[str, tuple[Call, str]] = {
    "register(username)": (
        lambda u, x: _accounts(u).register(x, "bob@example.com", PASSWORD),
        "bob",
    ),
    "register(email)": (lambda u, x: _accounts(u).register("bob", x, PASSWORD), "bob@example.com"),
    "register(password)": (lambda u, x: _accounts(u).register("bob", "b@example.com", x), PASSWORD),
    "change_email": (lambda u, x: _accounts(u).change_email(1, x), "new@example.com"),
    "create_product(name)": (lambda u, x: CatalogService(u).create_product(x, "1.00"), "Rug"),
    "create_product(description)": (
        lambda u, x: CatalogService(u).create_product("Rug", "1.00", x),
        "Soft",
    ),
    "update_product(name)": (
        lambda u, x: CatalogService(u).update_product(1, 1, name=x),
        "Moved",
    ),
    "update_product(description)": (
        lambda u, x: CatalogService(u).update_product(1, 1, description=x),
        "Moved",
    ),
    "import_products(name)": (
        lambda u, x: CatalogService(u).import_products([{"name": x, "price": "1.00"}]),
        "Rug",
    ),
    "search(text)": (lambda u, x: CatalogService(u).search(x), "lamp"),
    "search(cursor)": (lambda u, x: CatalogService(u).search(cursor=x), "bm90"),
    "users.get_by_username": (
        lambda u, x: _in_unit(u, lambda w: w.users.get_by_username(x)),
        "alice",
    ),
    "users.get_by_email": (
        lambda u, x: _in_unit(u, lambda w: w.users.get_by_email(x)),
        "alice@example.com",
    ),
    "users.change_email": (
        lambda u, x: _in_unit(u, lambda w: w.users.change_email(1, x)),
        "new@example.com",
    ),
    "orders.place(key)": (lambda u, x: _in_unit(u, lambda w: w.orders.place(1, x)), "key-1"),
}


def _shop(uow: UnitOfWorkFactory) -> None:
    add_user(uow, "alice")
    add_product(uow, "Lamp", "1.00", 5)


@pytest.mark.parametrize("call", list(TEXT_CALLS))
def test_bytes_are_not_text(uow: UnitOfWorkFactory, call: str) -> None:
    _shop(uow)
    action, valid = TEXT_CALLS[call]
    before = snapshot(uow)
    with pytest.raises(InvalidInput):
        action(uow, valid.encode())
    assert snapshot(uow) == before


@pytest.mark.parametrize(
    "arguments",
    [
        {"limit": True},
        {"limit": False},
        {"limit": "5"},
        {"limit": 5.0},
        {"in_stock_only": "yes"},
        {"in_stock_only": 1},
        {"in_stock_only": 0},
        {"in_stock_only": "false"},
    ],
    ids=repr,
)
def test_a_search_takes_an_int_limit_and_a_bool_flag(
    uow: UnitOfWorkFactory, arguments: dict[str, object]
) -> None:
    """As order_history(limit=True) already was: refused, through the service and through
    the repository (a query made with model_construct skipped validation)."""
    add_product(uow, "Lamp", "1.00", 5)
    with pytest.raises(InvalidInput) as info:
        CatalogService(uow).search("lamp", **arguments)  # type: ignore[arg-type]
    assert next(iter(arguments)) in str(info.value)
    query = ProductQuery.model_construct(**{**ProductQuery().model_dump(), **arguments})
    with uow(read_only=True) as work, pytest.raises(InvalidInput):
        work.products.search(query)


@pytest.mark.parametrize("value", [b"alice", 1, None, ["alice"]], ids=repr)
def test_a_user_is_looked_up_by_a_str_only(uow: UnitOfWorkFactory, value: object) -> None:
    add_user(uow, "alice")
    with uow(read_only=True) as work:
        with pytest.raises(InvalidInput, match="username: must be a string"):
            work.users.get_by_username(value)  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match="email: must be a string"):
            work.users.get_by_email(value)  # type: ignore[arg-type]


MONEY_CALLS: dict[str, Call] = {
    "create_product": lambda u, x: CatalogService(u).create_product("Rug", x),
    "update_product": lambda u, x: CatalogService(u).update_product(1, 1, price=x),
    "import_products": lambda u, x: CatalogService(u).import_products([{"name": "R", "price": x}]),
    "search(min_price)": lambda u, x: CatalogService(u).search(min_price=x),
    "search(max_price)": lambda u, x: CatalogService(u).search(max_price=x),
}


@pytest.mark.parametrize("call", list(MONEY_CALLS))
@pytest.mark.parametrize("value", [19.99, 5.0, True], ids=repr)
def test_money_is_not_a_float(uow: UnitOfWorkFactory, call: str, value: object) -> None:
    """A float already lost digits (0.1 + 0.2 is not 0.3): a Decimal, a str or an int."""
    _shop(uow)
    before = snapshot(uow)
    with pytest.raises(InvalidInput, match="price"):
        MONEY_CALLS[call](uow, value)
    assert snapshot(uow) == before


@pytest.mark.parametrize("value", ["yes", 1, 0, None], ids=repr)
def test_a_lock_is_a_bool(uow: UnitOfWorkFactory, value: object) -> None:
    _shop(uow)
    with uow() as work, pytest.raises(InvalidInput, match="lock: must be a bool"):
        work.carts.find_for_user(1, lock=value)  # type: ignore[arg-type]


QUANTITY_CALLS: dict[str, Callable[[Any, Any], object]] = {
    "add_item": lambda w, q: w.carts.add_item(1, 1, q),
    "add_for_user": lambda w, q: w.carts.add_for_user(1, 1, q),
    "set_quantity": lambda w, q: w.carts.set_quantity(1, 1, q),
    "set_quantity_for_user": lambda w, q: w.carts.set_quantity_for_user(1, 1, q),
}


@pytest.mark.parametrize("call", list(QUANTITY_CALLS))
@pytest.mark.parametrize("quantity", [None, True, 1.0, "1"])
def test_a_line_takes_an_int_quantity(uow: UnitOfWorkFactory, call: str, quantity: object) -> None:
    """None is no quantity either: refused, not taken for "no quantity given"."""
    add_user(uow)
    add_product(uow)
    with uow() as work:
        work.carts.add_for_user(1, 1, 1)
        work.commit()
    before = snapshot(uow)
    with uow() as work, pytest.raises(InvalidInput, match="quantity"):
        QUANTITY_CALLS[call](work, quantity)
    assert snapshot(uow) == before
