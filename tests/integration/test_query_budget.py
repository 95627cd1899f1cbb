"""Round trips per use case on PostgreSQL: each use case costs a stated number of statements."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from adapters.postgres import PostgresUnitOfWorkFactory
from domain.errors import InsufficientInventory
from domain.model import NewProduct
from services import AccountService, CartService, CatalogService, OrderService
from shopdb.testing import InsecureTestHasher
from tests.conftest import CountingConnection

# Use case -> statements sent. BEGIN and COMMIT count: they are round trips too.
BUDGET = {
    "view cart": 1,
    "get product": 1,
    "search page": 1,
    "register": 1,  # one INSERT ... RETURNING, autocommitted
    "update price": 1,  # one UPDATE ... WHERE version = %s RETURNING, autocommitted
    "add to cart": 4,  # BEGIN, lock the cart, upsert within stock and line cap, COMMIT
    "change quantity": 3,  # BEGIN, update the user's line within stock, COMMIT
    "remove from cart": 3,  # BEGIN, delete the user's line, COMMIT
}


def statements(action: Callable[[], object]) -> int:
    before = CountingConnection.statements
    action()
    return CountingConnection.statements - before


@pytest.fixture
def shop(
    postgres_uow: PostgresUnitOfWorkFactory,
) -> tuple[AccountService, CatalogService, CartService]:
    hasher = InsecureTestHasher()
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
    spent["change quantity"] = statements(lambda: carts.change_quantity(user.id, products[1], 3))
    spent["remove from cart"] = statements(lambda: carts.remove_from_cart(user.id, products[1]))
    spent["view cart"] = statements(lambda: carts.view_cart(user.id))
    spent["get product"] = statements(lambda: catalog.get_product(products[0]))
    spent["search page"] = statements(lambda: catalog.search("P1", limit=3))
    spent["update price"] = statements(
        lambda: catalog.update_product(products[2], 1, price=Decimal("2.00"))
    )
    assert spent == BUDGET


@pytest.mark.parametrize("catalog_size", [10, 400])
@pytest.mark.parametrize("lines", [1, 5, 50])
def test_checkout_costs_five_statements_whatever_the_lines_or_the_catalog(
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
    # BEGIN, cart lock, its products' locks, one statement that sells every line and records
    # the order, COMMIT.
    spent = statements(lambda: carts.checkout(user.id, "k"))
    orders = OrderService(postgres_uow)
    assert len(orders.get_order(user.id, 1).lines) == lines
    assert spent == 5
    # Repeated with the same key: the stored order, read back; nothing sold again.
    assert statements(lambda: carts.checkout(user.id, "k")) == 6
    assert statements(lambda: orders.get_order(user.id, 1)) == 1
    assert statements(lambda: orders.order_history(user.id, limit=10)) == 1


@pytest.mark.parametrize("lines", [1, 50])
def test_archiving_costs_four_statements_whatever_the_carts(
    shop: tuple[AccountService, CatalogService, CartService],
    postgres_uow: PostgresUnitOfWorkFactory,
    lines: int,
) -> None:
    accounts, catalog, carts = shop
    users = [accounts.register(f"user{n}", f"u{n}@example.com", "password1") for n in range(3)]
    _catalog_of(catalog, lines)
    for user in users:
        for product_id in range(1, lines + 1):
            carts.add_to_cart(user.id, product_id, 1)
    # BEGIN, the row's lock (and the mark, for a user), the mark and the carts' lines, COMMIT.
    assert statements(lambda: catalog.delete_product(1)) == 4
    assert statements(lambda: accounts.delete_user(users[0].id)) == 4
    with postgres_uow(read_only=True) as work:
        assert work.carts.find_for_user(users[0].id) is None
        cart = work.carts.find_for_user(users[1].id)
        assert cart is not None
        assert [i.product_id for i in cart.items] == list(range(2, lines + 1))


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


@pytest.mark.parametrize("lines", [1, 5, 1000])
def test_changing_and_removing_a_line_cost_the_same_whatever_the_cart_holds(
    shop: tuple[AccountService, CatalogService, CartService], lines: int
) -> None:
    accounts, catalog, carts = shop
    user = accounts.register("alice", "a@example.com", "password1")
    _catalog_of(catalog, lines)
    for product_id in range(1, lines + 1):  # a clean database: ids from 1
        carts.add_to_cart(user.id, product_id)
    changed = statements(lambda: carts.change_quantity(user.id, lines, 3))
    removed = statements(lambda: carts.remove_from_cart(user.id, lines))
    assert (changed, removed) == (BUDGET["change quantity"], BUDGET["remove from cart"])
    cart = carts.view_cart(user.id)
    assert cart is not None
    assert len(cart.items) == lines - 1
    assert lines not in {item.product_id for item in cart.items}


def test_a_savepoint_block_costs_one_round_trip_in_and_one_out(
    postgres_uow: PostgresUnitOfWorkFactory,
) -> None:
    with postgres_uow() as work:
        lamp = work.products.add(NewProduct(name="Lamp", price=Decimal("1.00")))
        work.commit()
    with postgres_uow() as work:

        def block() -> None:
            with work.savepoint():
                work.products.restock(lamp.id, 1)

        assert statements(block) == 1 + 1 + 1  # BEGIN with SAVEPOINT, the write, RELEASE
        assert statements(block) == 1 + 1 + 1  # inside the transaction: SAVEPOINT, write, RELEASE
        assert statements(lambda: work.products.restock(lamp.id, 1)) == 1  # none outside it

        def failing() -> None:
            with pytest.raises(InsufficientInventory), work.savepoint():
                work.products.reserve(lamp.id, 99)

        # SAVEPOINT, the conditional UPDATE, the stock read that names the error, ROLLBACK TO,
        # RELEASE.
        assert statements(failing) == 5
        work.commit()
    with postgres_uow(read_only=True) as work:
        assert work.products.get(lamp.id).inventory_count == 3
