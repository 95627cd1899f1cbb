"""Small builders for contract tests; every one goes through the ports."""

from __future__ import annotations

from decimal import Decimal

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
