"""One rule for every public argument, on both adapters: the declared type or InvalidInput.
Text is a str (bytes are never decoded), a limit an int (not True, "5" or 5.0), a flag a bool
(not "yes" or 1); a refused call stores nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeAlias, TypeVar

import pytest

from adapters.hashing import Argon2PasswordHasher
from domain.errors import InvalidInput
from domain.search import ProductQuery
from ports.unit_of_work_async import AsyncUnitOfWorkFactory
from services.accounts_async import AsyncAccountService
from services.catalog_async import AsyncCatalogService
from tests.contract.helpers_async import add_product, add_user, snapshot

if True:  # ASYNC
    P = ParamSpec("P")
    T = TypeVar("T")
    # A function whose result is awaited: the sync module's `Callable`.
    AsyncCallable: TypeAlias = Callable[P, Awaitable[T]]

PASSWORD = "a long password"
Call = AsyncCallable[[AsyncUnitOfWorkFactory, Any], object]


def _accounts(uow: AsyncUnitOfWorkFactory) -> AsyncAccountService:
    return AsyncAccountService(uow, Argon2PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


async def _in_unit(uow: AsyncUnitOfWorkFactory, action: AsyncCallable[[Any], object]) -> object:
    async with uow() as work:
        result = await action(work)
        await work.commit()
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
    "create_product(name)": (lambda u, x: AsyncCatalogService(u).create_product(x, "1.00"), "Rug"),
    "create_product(description)": (
        lambda u, x: AsyncCatalogService(u).create_product("Rug", "1.00", x),
        "Soft",
    ),
    "update_product(name)": (
        lambda u, x: AsyncCatalogService(u).update_product(1, 1, name=x),
        "Moved",
    ),
    "update_product(description)": (
        lambda u, x: AsyncCatalogService(u).update_product(1, 1, description=x),
        "Moved",
    ),
    "import_products(name)": (
        lambda u, x: AsyncCatalogService(u).import_products([{"name": x, "price": "1.00"}]),
        "Rug",
    ),
    "search(text)": (lambda u, x: AsyncCatalogService(u).search(x), "lamp"),
    "search(cursor)": (lambda u, x: AsyncCatalogService(u).search(cursor=x), "bm90"),
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


async def _shop(uow: AsyncUnitOfWorkFactory) -> None:
    await add_user(uow, "alice")
    await add_product(uow, "Lamp", "1.00", 5)


@pytest.mark.parametrize("call", list(TEXT_CALLS))
async def test_bytes_are_not_text(uow: AsyncUnitOfWorkFactory, call: str) -> None:
    await _shop(uow)
    action, valid = TEXT_CALLS[call]
    before = await snapshot(uow)
    with pytest.raises(InvalidInput):
        await action(uow, valid.encode())
    assert await snapshot(uow) == before


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
async def test_a_search_takes_an_int_limit_and_a_bool_flag(
    uow: AsyncUnitOfWorkFactory, arguments: dict[str, object]
) -> None:
    """As order_history(limit=True) already was: refused, through the service and through
    the repository (a query made with model_construct skipped validation)."""
    await add_product(uow, "Lamp", "1.00", 5)
    with pytest.raises(InvalidInput) as info:
        await AsyncCatalogService(uow).search("lamp", **arguments)  # type: ignore[arg-type]
    assert next(iter(arguments)) in str(info.value)
    query = ProductQuery.model_construct(**{**ProductQuery().model_dump(), **arguments})
    async with uow(read_only=True) as work:
        with pytest.raises(InvalidInput):
            await work.products.search(query)


@pytest.mark.parametrize("value", [b"alice", 1, None, ["alice"]], ids=repr)
async def test_a_user_is_looked_up_by_a_str_only(
    uow: AsyncUnitOfWorkFactory, value: object
) -> None:
    await add_user(uow, "alice")
    async with uow(read_only=True) as work:
        with pytest.raises(InvalidInput, match="username: must be a string"):
            await work.users.get_by_username(value)  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match="email: must be a string"):
            await work.users.get_by_email(value)  # type: ignore[arg-type]


MONEY_CALLS: dict[str, Call] = {
    "create_product": lambda u, x: AsyncCatalogService(u).create_product("Rug", x),
    "update_product": lambda u, x: AsyncCatalogService(u).update_product(1, 1, price=x),
    "import_products": lambda u, x: AsyncCatalogService(u).import_products(
        [{"name": "R", "price": x}]
    ),
    "search(min_price)": lambda u, x: AsyncCatalogService(u).search(min_price=x),
    "search(max_price)": lambda u, x: AsyncCatalogService(u).search(max_price=x),
}


@pytest.mark.parametrize("call", list(MONEY_CALLS))
@pytest.mark.parametrize("value", [19.99, 5.0, True], ids=repr)
async def test_money_is_not_a_float(uow: AsyncUnitOfWorkFactory, call: str, value: object) -> None:
    """A float already lost digits (0.1 + 0.2 is not 0.3): a Decimal, a str or an int."""
    await _shop(uow)
    before = await snapshot(uow)
    with pytest.raises(InvalidInput, match="price"):
        await MONEY_CALLS[call](uow, value)
    assert await snapshot(uow) == before


@pytest.mark.parametrize("value", ["yes", 1, 0, None], ids=repr)
async def test_a_lock_is_a_bool(uow: AsyncUnitOfWorkFactory, value: object) -> None:
    await _shop(uow)
    async with uow() as work:
        with pytest.raises(InvalidInput, match="lock: must be a bool"):
            await work.carts.find_for_user(1, lock=value)  # type: ignore[arg-type]


QUANTITY_CALLS: dict[str, AsyncCallable[[Any, Any], object]] = {
    "add_item": lambda w, q: w.carts.add_item(1, 1, q),
    "add_for_user": lambda w, q: w.carts.add_for_user(1, 1, q),
    "set_quantity": lambda w, q: w.carts.set_quantity(1, 1, q),
    "set_quantity_for_user": lambda w, q: w.carts.set_quantity_for_user(1, 1, q),
}


@pytest.mark.parametrize("call", list(QUANTITY_CALLS))
@pytest.mark.parametrize("quantity", [None, True, 1.0, "1"])
async def test_a_line_takes_an_int_quantity(
    uow: AsyncUnitOfWorkFactory, call: str, quantity: object
) -> None:
    """None is no quantity either: refused, not taken for "no quantity given"."""
    await add_user(uow)
    await add_product(uow)
    async with uow() as work:
        await work.carts.add_for_user(1, 1, 1)
        await work.commit()
    before = await snapshot(uow)
    async with uow() as work:
        with pytest.raises(InvalidInput, match="quantity"):
            await QUANTITY_CALLS[call](work, quantity)
    assert await snapshot(uow) == before
