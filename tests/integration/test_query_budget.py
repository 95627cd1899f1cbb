# Generated from test_query_budget_async.py (tools/generate_sync.py): edit that instead.
"""Round trips per use case on PostgreSQL: each use case costs a stated number of statements."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from decimal import Decimal

import pytest

from adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory
from domain.errors import InsufficientInventory
from domain.model import NewProduct
from services import AccountService, CartService, CatalogService, OrderService
from shopdb.testing import InsecureTestHasher
from tests import contract
from tests.conftest import CountingConnection
from tests.house import service_classes

SIDE = ""

# Every use case, as its service method -> statements sent on its usual path. BEGIN and COMMIT
# count: they are round trips too. A service method missing here fails
# test_every_use_case_has_a_budget.
BUDGET = {
    "AccountService.register": 1,  # one INSERT ... RETURNING, autocommitted
    "AccountService.authenticate": 1,  # the user by username or email
    "AccountService.change_email": 1,  # one UPDATE ... RETURNING, autocommitted
    "AccountService.delete_user": 4,  # BEGIN, lock and mark the user, drop the cart, COMMIT
    "CatalogService.create_product": 1,
    "CatalogService.import_products": 2,  # BEGIN and COMMIT; the COPY between them is uncounted
    "CatalogService.get_product": 1,
    "CatalogService.update_product": 1,  # UPDATE ... WHERE version = %s RETURNING
    "CatalogService.restock": 1,
    "CatalogService.delete_product": 4,  # BEGIN, lock and mark, the carts' lines, COMMIT
    "CatalogService.search": 1,
    "CartService.add_to_cart": 4,  # BEGIN, lock the cart, upsert within stock and cap, COMMIT
    "CartService.change_quantity": 3,  # BEGIN, update the user's line within stock, COMMIT
    "CartService.remove_from_cart": 3,  # BEGIN, delete the user's line, COMMIT
    "CartService.view_cart": 1,
    "CartService.checkout": 4,  # BEGIN, lock the cart, sell and record the order, COMMIT
    "OrderService.get_order": 1,
    "OrderService.order_history": 1,
}


def use_cases() -> set[str]:
    """Every public method of every service class (tests/unit/test_checklist.py finds them),
    by the sync service's name: a method and its twin share one budget."""
    return {
        f"{service.__name__.removeprefix('Async')}.{name}"
        for service in service_classes()
        for name, _ in inspect.getmembers(service, inspect.isfunction)
        if not name.startswith("_")
    }


# A use case may keep its budget with its aggregate's contract tests instead: a module of
# tests/contract that defines USE_CASES, service method -> (statements, scenario). The scenario
# prepares the data through a unit-of-work factory of PostgreSQL and returns the call to count.
Scenario = Callable[[PostgresUnitOfWorkFactory], Callable[[], object]]


def collected() -> dict[str, tuple[int, Scenario]]:
    found: dict[str, tuple[int, Scenario]] = {}
    for info in pkgutil.iter_modules(contract.__path__, "tests.contract."):
        if info.name.endswith("_async") != bool(SIDE):
            continue  # the other side's module
        found.update(getattr(importlib.import_module(info.name), "USE_CASES", {}))
    return found


def test_every_use_case_has_a_budget() -> None:
    assert not BUDGET.keys() & collected().keys()
    assert use_cases() == BUDGET.keys() | collected().keys()


def test_the_use_cases_kept_with_their_aggregates_stay_within_budget(
    postgres_uow: PostgresUnitOfWorkFactory,
) -> None:
    # One database for them all: each scenario makes what it needs on top of what is there.
    spent = {
        name: statements(scenario(postgres_uow)) for name, (_, scenario) in collected().items()
    }
    assert spent == {name: budget for name, (budget, _) in collected().items()}


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


def _catalog_of(catalog: CatalogService, size: int, *, page: bool = True) -> list[int]:
    catalog.import_products(
        NewProduct(name=f"P{i}", price=Decimal("1.00"), inventory_count=100) for i in range(size)
    )
    return [p.id for p in catalog.search(limit=5).items] if page else []


def test_use_cases_stay_within_budget(
    shop: tuple[AccountService, CatalogService, CartService],
    postgres_uow: PostgresUnitOfWorkFactory,
) -> None:
    accounts, catalog, carts = shop
    orders = OrderService(postgres_uow)
    spent = {
        "AccountService.register": statements(
            lambda: accounts.register("alice", "a@example.com", "password1")
        ),
        "CatalogService.import_products": statements(lambda: _catalog_of(catalog, 20, page=False)),
        "CatalogService.create_product": statements(
            lambda: catalog.create_product("Lamp", Decimal("1.00"), inventory_count=5)
        ),
    }
    products = [p.id for p in catalog.search(limit=5).items]
    user = accounts.register("bob", "b@example.com", "password1")
    spent["AccountService.authenticate"] = statements(
        lambda: accounts.authenticate("bob", "password1")
    )
    spent["AccountService.change_email"] = statements(
        lambda: accounts.change_email(user.id, "bob@example.com")
    )
    carts.add_to_cart(user.id, products[0])
    for name, action in {
        "CartService.add_to_cart": lambda: carts.add_to_cart(user.id, products[1]),
        "CartService.change_quantity": lambda: carts.change_quantity(user.id, products[1], 3),
        "CartService.remove_from_cart": lambda: carts.remove_from_cart(user.id, products[1]),
        "CartService.view_cart": lambda: carts.view_cart(user.id),
        "CatalogService.get_product": lambda: catalog.get_product(products[0]),
        "CatalogService.search": lambda: catalog.search("P1", limit=3),
        "CatalogService.update_product": lambda: catalog.update_product(
            products[2], 1, price=Decimal("2.00")
        ),
        "CatalogService.restock": lambda: catalog.restock(products[2], 5),
        "CartService.checkout": lambda: carts.checkout(user.id, "k"),
        "OrderService.get_order": lambda: orders.get_order(user.id, 1),
        "OrderService.order_history": lambda: orders.order_history(user.id, limit=10),
        "CatalogService.delete_product": lambda: catalog.delete_product(products[3]),
        "AccountService.delete_user": lambda: accounts.delete_user(user.id),
    }.items():
        spent[name] = statements(action)
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
    # BEGIN, cart lock, one statement that locks the cart's products, sells every line and
    # records the order, COMMIT: the hot row is held from that statement to the COMMIT only.
    spent = statements(lambda: carts.checkout(user.id, "k"))
    orders = OrderService(postgres_uow)
    assert len(orders.get_order(user.id, 1).lines) == lines
    assert spent == 4
    # Repeated with the same key: the stored order, read back; nothing sold again.
    assert statements(lambda: carts.checkout(user.id, "k")) == 5
    assert statements(lambda: orders.get_order(user.id, 1)) == 1
    assert statements(lambda: orders.order_history(user.id, limit=10)) == 1


@pytest.mark.parametrize("lines", [1, 5, 50])
def test_a_sold_out_checkout_costs_four_statements(
    shop: tuple[AccountService, CatalogService, CartService], lines: int
) -> None:
    accounts, catalog, carts = shop
    user, other = [accounts.register(n, f"{n}@example.com", "password1") for n in ("alice", "bob")]
    _catalog_of(catalog, lines)
    for product_id in range(1, lines + 1):  # a clean database: ids from 1
        carts.add_to_cart(user.id, product_id, 2)
    carts.add_to_cart(other.id, lines, 99)  # the last product sells out
    carts.checkout(other.id)

    def refused() -> None:
        with pytest.raises(InsufficientInventory) as info:
            carts.checkout(user.id, "k")
        assert (info.value.product_id, info.value.available) == (lines, 1)

    # BEGIN, cart lock, the checkout statement, which finds the line short in its snapshot
    # and so locks no product, ROLLBACK.
    assert statements(refused) == 4
    cart = carts.view_cart(user.id)
    assert cart is not None
    assert len(cart.items) == lines


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
    assert small == large == grown == BUDGET["CartService.add_to_cart"]


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
    assert (changed, removed) == (
        BUDGET["CartService.change_quantity"],
        BUDGET["CartService.remove_from_cart"],
    )
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
