"""Properties of the documented contract that an attack did not break: kept as guards."""

from __future__ import annotations

import base64
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any

import pytest

from adapters.postgres import PostgresUnitOfWorkFactory
from domain.errors import (
    CartFull,
    CartNotFound,
    DomainError,
    EmptyCart,
    InsufficientInventory,
    OrderNotFound,
    RollbackRequired,
    UserNotFound,
)
from domain.model import Order, ProductChanges
from ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from services import AccountService, CartService, CatalogService, OrderService
from shopdb.testing import InsecureTestHasher
from tests.contract.helpers import add_product, add_user
from tests.integration.test_archive_interleavings import _shop
from tests.review.helpers import add_products, fill_cart, together, while_held

HASHER = InsecureTestHasher()
TRIALS = 20


def _outcome(call: Any) -> str:
    try:
        return f"ok {call()!r}"
    except DomainError as exc:
        return f"{type(exc).__name__}: {exc}"


# Forced interleavings on PostgreSQL: a second unit of work holds the row, the operation waits.


def test_a_checkout_that_waited_for_a_price_change_sells_at_the_new_price(
    postgres_uow: PostgresUnitOfWorkFactory, clean_database: str
) -> None:
    uow = postgres_uow
    alice, lamp, _ = _shop(uow)
    carts = CartService(uow)
    carts.add_to_cart(alice.id, lamp.id, 2)
    changes = ProductChanges(price=Decimal("7.00"), name="Lamp 2")
    waited, outcome = while_held(
        uow,
        clean_database,
        lambda holder: holder.products.update(lamp.id, lamp.version, changes),
        lambda: carts.checkout(alice.id, "k"),
    )
    assert waited
    order = outcome[0]
    assert isinstance(order, Order)
    line = order.lines[0]
    assert (line.product_name, line.unit_price, order.total) == (
        "Lamp 2",
        Decimal("7.00"),
        Decimal("14.00"),
    )


def test_a_checkout_that_waited_for_a_reservation_sees_the_stock_it_left(
    postgres_uow: PostgresUnitOfWorkFactory, clean_database: str
) -> None:
    uow = postgres_uow
    alice, lamp, _ = _shop(uow)  # 5 lamps
    carts = CartService(uow)
    carts.add_to_cart(alice.id, lamp.id, 3)
    waited, outcome = while_held(
        uow,
        clean_database,
        lambda holder: holder.products.reserve(lamp.id, 4),
        lambda: carts.checkout(alice.id, "k"),
    )
    assert waited
    assert isinstance(outcome[0], InsufficientInventory)
    assert (outcome[0].requested, outcome[0].available) == (3, 1)
    with uow(read_only=True) as work:
        assert work.products.get(lamp.id).inventory_count == 1


@pytest.mark.parametrize("operation", ["add", "change", "checkout"])
def test_an_operation_that_waited_for_the_users_archiving_finds_no_user(
    postgres_uow: PostgresUnitOfWorkFactory, clean_database: str, operation: str
) -> None:
    uow = postgres_uow
    alice, lamp, desk = _shop(uow)
    carts = CartService(uow)
    carts.add_to_cart(alice.id, desk.id, 1)
    actions = {
        "add": lambda: carts.add_to_cart(alice.id, lamp.id, 1),
        "change": lambda: carts.change_quantity(alice.id, desk.id, 2),
        "checkout": lambda: carts.checkout(alice.id, "k"),
    }
    waited, outcome = while_held(
        uow, clean_database, lambda holder: holder.users.delete(alice.id), actions[operation]
    )
    assert waited
    assert isinstance(outcome[0], EmptyCart if operation == "checkout" else UserNotFound)
    assert OrderService(uow).order_history(alice.id).items == ()
    with uow(read_only=True) as work:
        assert work.products.get(desk.id).inventory_count == 5


# Races on both adapters, released together, the fake switching threads every microsecond.


def test_concurrent_first_adds_make_one_cart(
    uow: UnitOfWorkFactory, short_switch_interval: None
) -> None:
    carts = CartService(uow)
    products = [add_product(uow, f"P{i}", "1.00", 100) for i in range(4)]
    for trial in range(TRIALS):
        user = add_user(uow, f"user{trial}")
        together(*[partial(carts.add_to_cart, user.id, p.id, 1) for p in products])
        assert len(carts.checkout(user.id, "k").lines) == 4


def test_an_add_racing_the_users_archiving_leaves_no_cart(
    uow: UnitOfWorkFactory, short_switch_interval: None
) -> None:
    carts, accounts = CartService(uow), AccountService(uow, HASHER)
    lamp = add_product(uow, "Lamp", "1.00", 10**6)
    for trial in range(TRIALS):
        user = add_user(uow, f"user{trial}")
        added, archived = together(
            partial(carts.add_to_cart, user.id, lamp.id, 1),
            partial(accounts.delete_user, user.id),
        )
        assert archived[0]
        if added[0]:  # the add came first: the archiving deleted its cart
            with uow(read_only=True) as work, pytest.raises(CartNotFound):
                work.carts.get(added[1].cart_id)
        else:
            assert isinstance(added[1], UserNotFound)


@pytest.mark.parametrize("operation", ["add", "change"])
def test_a_cart_write_racing_the_products_archiving_leaves_no_line(
    uow: UnitOfWorkFactory, short_switch_interval: None, operation: str
) -> None:
    carts, catalog = CartService(uow), CatalogService(uow)
    alice = add_user(uow)
    for trial in range(TRIALS):
        product = add_product(uow, f"P{trial}", "1.00", 100)
        if operation == "change":
            carts.add_to_cart(alice.id, product.id, 1)
        write = (
            partial(carts.add_to_cart, alice.id, product.id, 1)
            if operation == "add"
            else partial(carts.change_quantity, alice.id, product.id, 3)
        )
        _, archived = together(write, partial(catalog.delete_product, product.id))
        assert archived[0]
        cart = carts.view_cart(alice.id)
        assert cart is None or product.id not in [i.product_id for i in cart.items]


def test_an_add_racing_the_checkout_is_sold_or_kept(
    uow: UnitOfWorkFactory, short_switch_interval: None
) -> None:
    carts = CartService(uow)
    lamp, desk = add_product(uow, "Lamp", "1.00", 10**6), add_product(uow, "Desk", "1.00", 10**6)
    for trial in range(TRIALS):
        user = add_user(uow, f"user{trial}")
        carts.add_to_cart(user.id, lamp.id, 1)
        _, (sold, order) = together(
            partial(carts.add_to_cart, user.id, desk.id, 2),
            partial(carts.checkout, user.id, "k"),
        )
        assert sold
        in_order = sum(x.quantity for x in order.lines if x.product_id == desk.id)
        cart = carts.view_cart(user.id)
        in_cart = sum(i.quantity for i in cart.items if i.product_id == desk.id) if cart else 0
        assert in_order + in_cart == 2


def test_one_cart_checked_out_with_two_keys_is_sold_once(
    uow: UnitOfWorkFactory, short_switch_interval: None
) -> None:
    carts = CartService(uow)
    lamp = add_product(uow, "Lamp", "1.00", 10**6)
    for trial in range(TRIALS):
        user = add_user(uow, f"user{trial}")
        carts.add_to_cart(user.id, lamp.id, 1)
        results = together(
            partial(carts.checkout, user.id, "a"), partial(carts.checkout, user.id, "b")
        )
        assert sorted(ok for ok, _ in results) == [False, True]
        assert isinstance(next(r for ok, r in results if not ok), EmptyCart)
    with uow(read_only=True) as work:
        assert work.products.get(lamp.id).inventory_count == 10**6 - TRIALS


def test_the_last_unit_is_sold_once(uow: UnitOfWorkFactory, short_switch_interval: None) -> None:
    carts = CartService(uow)
    for trial in range(TRIALS):
        lamp = add_product(uow, f"P{trial}", "1.00", 1)
        users = [add_user(uow, f"user{trial}x{i}") for i in range(3)]
        for user in users:
            carts.add_to_cart(user.id, lamp.id, 1)
        results = together(*[partial(carts.checkout, u.id, "k") for u in users])
        assert sum(ok for ok, _ in results) == 1
        with uow(read_only=True) as work:
            assert work.products.get(lamp.id).inventory_count == 0


# Idempotency keys and history across archiving.


def test_a_key_is_the_users_and_survives_archiving_and_reregistration(
    uow: UnitOfWorkFactory,
) -> None:
    carts, accounts, orders = CartService(uow), AccountService(uow, HASHER), OrderService(uow)
    catalog = CatalogService(uow)
    old = accounts.register("alice", "alice@example.com", "password123")
    lamp = add_product(uow, "Lamp", "1.00", 10)
    carts.add_to_cart(old.id, lamp.id, 2)
    order = carts.checkout(old.id, "k")
    catalog.delete_product(lamp.id)
    assert carts.checkout(old.id, "k") == order  # its product archived since: still the order
    accounts.delete_user(old.id)
    assert carts.checkout(old.id, "k") == order  # a retry after the user's archiving too
    new = accounts.register("ALICE", "Alice@Example.com", "password456")
    assert new.id != old.id
    assert accounts.authenticate("alice@example.com", "password456").id == new.id
    assert orders.order_history(new.id).items == ()
    with pytest.raises(OrderNotFound):
        orders.get_order(new.id, order.id)
    assert orders.order_history(old.id).items == (order,)
    desk = add_product(uow, "Desk", "2.00", 10)
    carts.add_to_cart(new.id, desk.id, 1)
    assert carts.checkout(new.id, "k").user_id == new.id  # the old user's key is not the new's


def test_keys_are_compared_exactly(uow: UnitOfWorkFactory) -> None:
    carts = CartService(uow)
    alice, lamp = add_user(uow), add_product(uow, "Lamp", "1.00", 10)
    carts.add_to_cart(alice.id, lamp.id, 1)
    first = carts.checkout(alice.id, "k")
    ids = []
    for key in ["K", "k ", " k", "k\u0301", "k\n"]:
        carts.add_to_cart(alice.id, lamp.id, 1)
        ids.append(carts.checkout(alice.id, key).id)
    assert ids == [first.id + n for n in range(1, 6)]


# Hostile input: the same domain error on both adapters, nothing stored.


def test_quantities_past_the_integer_range_are_short_stock_not_overflow(
    uow: UnitOfWorkFactory,
) -> None:
    carts = CartService(uow)
    alice = add_user(uow)
    lamp = add_product(uow, "Lamp", "99999999.99", 2**31 - 1)
    desk = add_product(uow, "Desk", "99999999.99", 2**31 - 1)
    carts.add_to_cart(alice.id, lamp.id, 2**31 - 1)
    with pytest.raises(InsufficientInventory) as info:
        carts.add_to_cart(alice.id, lamp.id, 1)
    assert (info.value.requested, info.value.available) == (2**31, 2**31 - 1)
    carts.add_to_cart(alice.id, desk.id, 2**31 - 1)
    order = carts.checkout(alice.id, "k")
    assert order.total == 2 * (2**31 - 1) * Decimal("99999999.99")
    assert OrderService(uow).get_order(alice.id, order.id) == order


def _encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


FORGED = [
    "order:0",
    "order:-1",
    "order:03",
    "order:+3",
    "order:\u0663",
    "order:1_0",
    "order:1.5",
    "order:9223372036854775808",
    "order:" + "9" * 5000,
    "order:3\n",
    "ORDER:3",
    "order:3:4",
]


def test_forged_history_cursors_are_invalid_input_on_both_adapters(uow: UnitOfWorkFactory) -> None:
    carts, orders = CartService(uow), OrderService(uow)
    alice, lamp = add_user(uow), add_product(uow, "Lamp", "1.00", 10)
    for n in range(3):
        carts.add_to_cart(alice.id, lamp.id, 1)
        carts.checkout(alice.id, f"k{n}")
    real = orders.order_history(alice.id, limit=1).next_cursor
    assert real is not None
    assert [o.id for o in orders.order_history(alice.id, cursor=real).items] == [2, 1]
    message = (
        "InvalidInput: invalid input: cursor: not a cursor returned by a previous page of orders"
    )
    for cursor in [_encode(text) for text in FORGED] + [
        real + "==",
        " " + real,
        "\ud800",
        "A" * 10**6,
    ]:
        assert _outcome(lambda c=cursor: orders.order_history(alice.id, cursor=c)) == message


BAD_IDS: list[object] = [True, 1.0, "1", None, 0, -1, 2**63, 10**27, float("nan")]


@pytest.mark.parametrize("bad", BAD_IDS, ids=repr)
def test_bad_ids_are_refused_alike_by_every_cart_and_order_call(
    uow: UnitOfWorkFactory, bad: Any
) -> None:
    carts, orders = CartService(uow), OrderService(uow)
    alice, lamp = add_user(uow), add_product(uow, "Lamp", "1.00", 10)
    carts.add_to_cart(alice.id, lamp.id, 1)
    calls = [
        lambda: carts.add_to_cart(bad, lamp.id, 1),
        lambda: carts.add_to_cart(alice.id, bad, 1),
        lambda: carts.add_to_cart(alice.id, lamp.id, bad),
        lambda: carts.change_quantity(bad, lamp.id, 1),
        lambda: carts.change_quantity(alice.id, bad, 1),
        lambda: carts.change_quantity(alice.id, lamp.id, bad),
        lambda: carts.remove_from_cart(bad, lamp.id),
        lambda: carts.remove_from_cart(alice.id, bad),
        lambda: carts.checkout(bad, "k"),
        lambda: orders.get_order(bad, 1),
        lambda: orders.get_order(alice.id, bad),
        lambda: orders.order_history(bad),
        lambda: orders.order_history(alice.id, limit=bad),
    ]
    for call in calls:
        assert _outcome(call).startswith("InvalidInput: ")
    cart = carts.view_cart(alice.id)
    assert cart is not None
    assert [(i.product_id, i.quantity) for i in cart.items] == [(lamp.id, 1)]
    assert orders.order_history(alice.id).items == ()


def test_concurrent_adds_at_the_cap_let_one_new_line_in(
    uow: UnitOfWorkFactory, short_switch_interval: None
) -> None:
    carts = CartService(uow)
    add_products(uow, 1010)
    alice = add_user(uow)
    fill_cart(uow, alice.id, 999)
    results = together(*[partial(carts.add_to_cart, alice.id, pid, 1) for pid in range(1000, 1006)])
    assert sum(ok for ok, _ in results) == 1
    assert all(isinstance(error, CartFull) for ok, error in results if not ok)
    carts.add_to_cart(alice.id, 1, 1)  # a line already there may still grow
    with pytest.raises(CartFull):
        carts.add_to_cart(alice.id, 1009, 1)
    order = carts.checkout(alice.id, "k")
    assert (len(order.lines), order.total) == (1000, Decimal("1001.00"))


def test_a_failed_cart_or_order_write_rolls_back_and_a_failed_read_does_not(
    uow: UnitOfWorkFactory,
) -> None:
    carts = CartService(uow)
    alice, bob = add_user(uow), add_user(uow, "bobby")
    lamp, desk = add_product(uow, "Lamp", "1.00", 10), add_product(uow, "Desk", "1.00", 10)
    carts.add_to_cart(alice.id, lamp.id, 1)
    carts.checkout(alice.id, "k")
    carts.add_to_cart(alice.id, desk.id, 1)
    writes: dict[str, Callable[[UnitOfWork], object]] = {
        "EmptyCart": lambda w: w.orders.place(bob.id, "z"),
        "CartItemNotFound": lambda w: w.carts.set_quantity_for_user(bob.id, desk.id, 1),
        "ProductNotFound": lambda w: w.carts.add_for_user(alice.id, 999, 1),
        "UserNotFound": lambda w: w.carts.add_for_user(999, lamp.id, 1),
        "InsufficientInventory": lambda w: w.carts.set_quantity_for_user(alice.id, desk.id, 99),
    }
    reads: dict[str, Callable[[UnitOfWork], object]] = {
        "OrderNotFound": lambda w: w.orders.get(alice.id, 99),
        "InvalidInput": lambda w: w.orders.list_for_user(alice.id, cursor="x"),
    }
    for calls, kept in ((writes, 0), (reads, 1)):
        for expected, call in calls.items():
            with uow() as work:
                before = work.products.get(desk.id).inventory_count
                work.products.restock(desk.id, 1)
                assert _outcome(lambda c=call, w=work: c(w)).startswith(expected)
                if kept:
                    work.commit()
                else:  # the restock went with the failed write: commit() says so
                    with pytest.raises(RollbackRequired, match=f"\\({expected}\\)"):
                        work.commit()
            with uow(read_only=True) as work:
                assert work.products.get(desk.id).inventory_count == before + kept, expected


@pytest.mark.parametrize("refilled", [False, True])
def test_a_retry_that_waited_for_the_first_checkout_with_its_key_sells_nothing(
    postgres_uow: PostgresUnitOfWorkFactory, clean_database: str, refilled: bool
) -> None:
    """The retry starts while the first checkout with the key holds the cart uncommitted: once
    it commits, the retry finds that order (also with the cart refilled meanwhile with other
    lines, which stay in the cart), never EmptyCart and never a second sale."""
    uow = postgres_uow
    alice, lamp, desk = _shop(uow)
    carts = CartService(uow)
    carts.add_to_cart(alice.id, lamp.id, 2)
    first: list[Order] = []

    def hold(holder: UnitOfWork) -> None:
        first.append(holder.orders.place(alice.id, "k"))
        if refilled:
            holder.carts.add_for_user(alice.id, desk.id, 1)

    waited, outcome = while_held(uow, clean_database, hold, partial(carts.checkout, alice.id, "k"))
    assert waited
    assert outcome == first
    with uow(read_only=True) as work:
        assert work.products.get(lamp.id).inventory_count == 3
        cart = work.carts.find_for_user(alice.id)
        assert cart is not None
        assert [(i.product_id, i.quantity) for i in cart.items] == (
            [(desk.id, 1)] if refilled else []
        )
