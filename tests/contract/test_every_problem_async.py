"""InvalidInput names every bad argument of a call, not only the first, on both adapters:
a caller fixes a form in one round instead of one field per round."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeAlias, TypeVar

import pytest

from adapters.hashing import Argon2PasswordHasher
from domain.errors import InvalidInput
from ports.unit_of_work_async import AsyncUnitOfWork, AsyncUnitOfWorkFactory
from services.accounts_async import AsyncAccountService
from services.catalog_async import AsyncCatalogService
from services.orders_async import AsyncOrderService
from tests.contract.helpers_async import add_product, add_user, snapshot

if True:  # ASYNC
    P = ParamSpec("P")
    T = TypeVar("T")
    # A function whose result is awaited: the sync module's `Callable`.
    AsyncCallable: TypeAlias = Callable[P, Awaitable[T]]


def _accounts(uow: AsyncUnitOfWorkFactory) -> AsyncAccountService:
    return AsyncAccountService(uow, Argon2PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


async def _in_unit(
    uow: AsyncUnitOfWorkFactory, action: AsyncCallable[[AsyncUnitOfWork], object]
) -> object:
    async with uow() as work:
        result = await action(work)
        await work.commit()
    return result


# Each call with every argument bad, and the names its refusal must list.
CALLS: dict[str, tuple[AsyncCallable[[AsyncUnitOfWorkFactory], object], list[str]]] = {
    "register": (
        lambda u: _accounts(u).register("a", "not an email", "short"),
        ["username", "email", "password"],
    ),
    "update_product": (
        lambda u: AsyncCatalogService(u).update_product(True, 0, name="", price="1.001"),
        ["product_id", "expected_version", "name", "price"],
    ),
    "order_history": (
        lambda u: AsyncOrderService(u).order_history(True, limit=0, cursor="!"),
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
async def test_every_bad_argument_is_named(uow: AsyncUnitOfWorkFactory, call: str) -> None:
    await add_user(uow, "alice")
    await add_product(uow, "Lamp", "1.00", 5)
    before = await snapshot(uow)
    action, names = CALLS[call]
    with pytest.raises(InvalidInput) as info:
        await action(uow)
    problems: Any = info.value.problems
    named = [name for name in names if any(p.startswith(f"{name}:") for p in problems)]
    assert named == names, (call, problems)
    assert await snapshot(uow) == before
