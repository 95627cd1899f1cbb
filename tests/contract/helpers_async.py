"""Small builders for contract tests, every one through the ports, and the list of the contract
modules."""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
from decimal import Decimal
from types import ModuleType

from domain.errors import NotFound
from domain.model import NewProduct, NewUser, Product, User
from ports.unit_of_work_async import AsyncUnitOfWorkFactory
from tests import contract


async def add_user(
    uow: AsyncUnitOfWorkFactory, username: str = "alice", email: str | None = None
) -> User:
    async with uow() as work:
        user = await work.users.add(
            NewUser(
                username=username,
                email=email or f"{username}@example.com",
                password_hash="$argon2id$fake",
            )
        )
        await work.commit()
    return user


async def add_product(
    uow: AsyncUnitOfWorkFactory,
    name: str = "Lamp",
    price: str = "19.99",
    inventory: int = 10,
    description: str | None = None,
) -> Product:
    async with uow() as work:
        product = await work.products.add(
            NewProduct(
                name=name, price=Decimal(price), inventory_count=inventory, description=description
            )
        )
        await work.commit()
    return product


async def snapshot(uow: AsyncUnitOfWorkFactory, ids: int = 50) -> object:
    """What the ports show of the first `ids` users, products and carts: equal snapshots mean
    nothing visible changed."""
    async with uow(read_only=True) as work:
        users = []
        for user_id in range(1, ids + 1):
            with contextlib.suppress(NotFound):
                users.append(await work.users.get(user_id))
        products = await work.products.get_many(range(1, ids + 1))
        carts = [await work.carts.find_for_user(user_id) for user_id in range(1, ids + 1)]
    return users, products, carts


def contract_modules() -> list[ModuleType]:
    """The contract test modules for the same adapters as this one: those whose names end in
    `_async` where this module's does, the others where it does not. A list the tests gather
    from (examples, arguments) holds each entry once, and never imports the other side."""
    ours = __name__.endswith("_async")
    return [
        importlib.import_module(info.name)
        for info in pkgutil.iter_modules(contract.__path__, "tests.contract.")
        if info.name.endswith("_async") == ours
    ]
