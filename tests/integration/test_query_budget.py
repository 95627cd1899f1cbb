"""Round trips per use case on PostgreSQL: each use case costs a stated number of statements."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from adapters.hashing import Argon2PasswordHasher
from adapters.postgres import PostgresUnitOfWorkFactory
from domain.model import NewProduct
from services import AccountService, CartService, CatalogService, OrderService
from tests.conftest import CountingConnection

# Use case -> statements sent. BEGIN and COMMIT count: they are round trips too.
BUDGET = {
    "view cart": 1,
    "get product": 1,
    "search page": 1,
    "register": 1,  # one INSERT ... RETURNING, autocommitted
    "update price": 1,  # one UPDATE ... WHERE version = %s RETURNING, autocommitted
    "add to cart": 4,  # BEGIN, lock the cart, upsert within stock and line cap, COMMIT
}


def statements(action: Callable[[], object]) -> int:
    before = CountingConnection.statements
    action()
    return CountingConnection.statements - before


@pytest.fixture
def shop(
    postgres_uow: PostgresUnitOfWorkFactory,
) -> tuple[AccountService, CatalogService, CartService]:
    hasher = Argon2PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    return (
        AccountService(postgres_uow, hasher),
        CatalogService(postgres_uow),
        CartService(postgres_uow),
    )


def _catalog_of(catalog: CatalogService, size: int) -> list[int]:
    catalog.import_products(
        NewProduct(name=f"P{i}", price=Decimal("1.00"), inventory_count=100) for i in range(size)
    )
    return [p.id for p in catalog.search(limit=5).items]


def test_use_cases_stay_within_budget(
    shop: tuple[AccountService, CatalogService, CartService],
) -> None:
    accounts, catalog, carts = shop
    products = _catalog_of(catalog, 20)
    spent = {
        "register": statements(lambda: accounts.register("alice", "a@example.com", "password1"))
    }
    user = accounts.authenticate("alice", "password1")
    carts.add_to_cart(user.id, products[0])
    spent["add to cart"] = statements(lambda: carts.add_to_cart(user.id, products[1]))
    spent["view cart"] = statements(lambda: carts.view_cart(user.id))
    spent["get product"] = statements(lambda: catalog.get_product(products[0]))
    spent["search page"] = statements(lambda: catalog.search("P1", limit=3))
    spent["update price"] = statements(
        lambda: catalog.update_product(products[2], 1, price=Decimal("2.00"))
    )
    assert spent == BUDGET


@pytest.mark.parametrize("catalog_size", [10, 400])
@pytest.mark.parametrize("lines", [1, 5, 50])
def test_checkout_costs_four_statements_whatever_the_lines_or_the_catalog(
    shop: tuple[AccountService, CatalogService, CartService],
    postgres_uow: PostgresUnitOfWorkFactory,
    catalog_size: int,
    lines: int,
) -> None:
    accounts, catalog, carts = shop
    user = accounts.register("alice", "a@example.com", "password1")
    _catalog_of(catalog, max(catalog_size, lines))
    for product_id in range(1, lines + 1):  # a clean database: ids from 1
        carts.add_to_cart(user.id, product_id, 2)
    # BEGIN, cart lock, one statement that sells every line and records the order, COMMIT.
    spent = statements(lambda: carts.checkout(user.id, "k"))
    orders = OrderService(postgres_uow)
    assert len(orders.get_order(user.id, 1).lines) == lines
    assert spent == 4
    # Repeated with the same key: the stored order, read back; nothing sold again.
    assert statements(lambda: carts.checkout(user.id, "k")) == 5
    assert statements(lambda: orders.get_order(user.id, 1)) == 1
    assert statements(lambda: orders.order_history(user.id, limit=10)) == 1


def test_add_to_cart_costs_the_same_for_1_and_1000_lines(
    shop: tuple[AccountService, CatalogService, CartService],
) -> None:
    accounts, catalog, carts = shop
    user = accounts.register("alice", "a@example.com", "password1")
    _catalog_of(catalog, 1002)
    carts.add_to_cart(user.id, 1)
    small = statements(lambda: carts.add_to_cart(user.id, 2))
    for product_id in range(3, 1000):
        carts.add_to_cart(user.id, product_id)
    large = statements(lambda: carts.add_to_cart(user.id, 1000))  # the 1,000th line
    grown = statements(lambda: carts.add_to_cart(user.id, 5))  # an existing line, cart full
    assert small == large == grown == BUDGET["add to cart"]
