"""Small builders for contract tests; every one goes through the ports."""

from __future__ import annotations

import contextlib
from decimal import Decimal

from domain.errors import NotFound
from domain.model import NewProduct, NewUser, Product, User
from ports.unit_of_work import UnitOfWorkFactory


def add_user(uow: UnitOfWorkFactory, username: str = "alice", email: str | None = None) -> User:
    with uow() as work:
        user = work.users.add(
            NewUser(
                username=username,
                email=email or f"{username}@example.com",
                password_hash="$argon2id$fake",
            )
        )
        work.commit()
    return user


def add_product(
    uow: UnitOfWorkFactory,
    name: str = "Lamp",
    price: str = "19.99",
    inventory: int = 10,
    description: str | None = None,
) -> Product:
    with uow() as work:
        product = work.products.add(
            NewProduct(
                name=name, price=Decimal(price), inventory_count=inventory, description=description
            )
        )
        work.commit()
    return product


def snapshot(uow: UnitOfWorkFactory, ids: int = 50) -> object:
    """What the ports show of the first `ids` users, products and carts: equal snapshots mean
    nothing visible changed."""
    with uow(read_only=True) as work:
        users = []
        for user_id in range(1, ids + 1):
            with contextlib.suppress(NotFound):
                users.append(work.users.get(user_id))
        products = work.products.get_many(range(1, ids + 1))
        carts = [work.carts.find_for_user(user_id) for user_id in range(1, ids + 1)]
    return users, products, carts
