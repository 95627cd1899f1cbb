"""Archiving against cart adds and checkouts, in both orders, forced with a second connection:
whoever holds the product's row first goes first, no archived product is ever sold, no cart
keeps a line of one, and no committed order loses a line."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from adapters.postgres import PostgresUnitOfWorkFactory
from adapters.postgres.products import ARCHIVE, LOCK_TO_ARCHIVE
from domain.errors import ProductNotFound, UserNotFound
from domain.model import NewProduct, NewUser, Order, Product, User
from services import CartService, OrderService
from tests.integration.test_interleavings import _wait_for_lock_wait


def _shop(uow: PostgresUnitOfWorkFactory) -> tuple[User, Product, Product]:
    with uow() as work:
        alice = work.users.add(NewUser(username="alice", email="a@example.com", password_hash="h"))
        lamp = work.products.add(NewProduct(name="Lamp", price=Decimal("1.00"), inventory_count=5))
        desk = work.products.add(NewProduct(name="Desk", price=Decimal("2.00"), inventory_count=5))
        work.commit()
    return alice, lamp, desk


def _in_thread(action: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Runs `action` in a thread; the list gets its result or the exception it raised."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(action())
        except Exception as exc:  # the test inspects whatever it was
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _stock_and_archived(url: str, product_id: int) -> tuple[int, bool]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT inventory_count, deleted_at IS NOT NULL FROM products WHERE id = %s",
            (product_id,),
        ).fetchone()
    assert row is not None
    return row[0], row[1]


def _cart_products(uow: PostgresUnitOfWorkFactory, user_id: int) -> list[int]:
    with uow(read_only=True) as work:
        cart = work.carts.find_for_user(user_id)
    return [] if cart is None else [item.product_id for item in cart.items]


def test_an_add_that_holds_the_product_first_is_emptied_by_the_archiving(
    postgres_uow: PostgresUnitOfWorkFactory, clean_database: str
) -> None:
    uow = postgres_uow
    alice, lamp, _ = _shop(uow)
    adder = uow()
    with adder:
        adder.carts.add_for_user(alice.id, lamp.id, 1)  # holds a key-share lock on the lamp
        archiving, outcome = _in_thread(lambda: _archive(uow, lamp.id))
        waited = _wait_for_lock_wait(clean_database)
        adder.commit()
    archiving.join(30)
    print(f"\narchiving waited for the add (seen after {waited:.3f} s), then: {outcome}")
    assert outcome == [None]
    assert _cart_products(uow, alice.id) == []
    assert _stock_and_archived(clean_database, lamp.id) == (5, True)


def test_an_add_that_comes_second_finds_the_product_archived(
    postgres_uow: PostgresUnitOfWorkFactory, clean_database: str
) -> None:
    """Archiving holds the row FOR UPDATE before it marks it: an add that started meanwhile
    waits, re-checks the row, and finds it archived. Without the add's own key-share lock in
    its SELECT, only the foreign key would wait, find the key still there and store the line."""
    uow = postgres_uow
    alice, lamp, _ = _shop(uow)
    with psycopg.connect(clean_database) as archiver:
        assert archiver.execute(LOCK_TO_ARCHIVE, (lamp.id,)).fetchone() is not None
        adding, outcome = _in_thread(lambda: CartService(uow).add_to_cart(alice.id, lamp.id, 1))
        waited = _wait_for_lock_wait(clean_database)
        archiver.execute(ARCHIVE, {"id": lamp.id})
        archiver.commit()
    adding.join(30)
    print(f"\nthe add waited for the archiving (seen after {waited:.3f} s), then: {outcome}")
    assert len(outcome) == 1
    assert isinstance(outcome[0], ProductNotFound)
    assert _cart_products(uow, alice.id) == []


def test_a_checkout_that_holds_the_product_first_keeps_its_order(
    postgres_uow: PostgresUnitOfWorkFactory, clean_database: str
) -> None:
    uow = postgres_uow
    alice, lamp, desk = _shop(uow)
    carts = CartService(uow)
    carts.add_to_cart(alice.id, lamp.id, 2)
    carts.add_to_cart(alice.id, desk.id, 1)
    buyer = uow()
    with buyer:
        order = buyer.orders.place(alice.id, "k")  # holds the lamp for update
        archiving, outcome = _in_thread(lambda: _archive(uow, lamp.id))
        waited = _wait_for_lock_wait(clean_database)
        buyer.commit()
    archiving.join(30)
    print(f"\narchiving waited for the checkout (seen after {waited:.3f} s), then: {outcome}")
    assert outcome == [None]
    assert [(x.product_id, x.quantity) for x in order.lines] == [(lamp.id, 2), (desk.id, 1)]
    assert OrderService(uow).get_order(alice.id, order.id) == order
    assert _stock_and_archived(clean_database, lamp.id) == (3, True)


@pytest.mark.parametrize("other_line", [True, False])
def test_a_checkout_that_comes_second_never_sells_the_archived_product(
    postgres_uow: PostgresUnitOfWorkFactory, clean_database: str, other_line: bool
) -> None:
    """Archiving holds the lamp, then deletes its cart lines. The checkout locks the products
    of its lines before the lines themselves, so it waits at the lamp holding no line, and
    the archiving deletes the line without waiting for it (lines first, as before, would make
    a deadlock of this). The checkout then sells what is left, or finds the cart empty."""
    uow = postgres_uow
    alice, lamp, desk = _shop(uow)
    carts = CartService(uow)
    carts.add_to_cart(alice.id, lamp.id, 2)
    if other_line:
        carts.add_to_cart(alice.id, desk.id, 1)
    with psycopg.connect(clean_database) as archiver:
        assert archiver.execute(LOCK_TO_ARCHIVE, (lamp.id,)).fetchone() is not None
        buying, outcome = _in_thread(lambda: _place(uow, alice.id))
        waited = _wait_for_lock_wait(clean_database)
        archiver.execute(ARCHIVE, {"id": lamp.id})  # would wait for the line if it were held
        archiver.commit()
    buying.join(30)
    print(f"\nthe checkout waited for the archiving (seen after {waited:.3f} s): {outcome}")
    assert len(outcome) == 1
    if other_line:
        assert isinstance(outcome[0], Order)
        assert [(x.product_id, x.quantity) for x in outcome[0].lines] == [(desk.id, 1)]
    else:
        assert type(outcome[0]).__name__ == "EmptyCart"
    assert _stock_and_archived(clean_database, lamp.id) == (5, True)
    assert _cart_products(uow, alice.id) == []


def test_archiving_a_user_waits_for_its_checkout_and_keeps_the_order(
    postgres_uow: PostgresUnitOfWorkFactory, clean_database: str
) -> None:
    uow = postgres_uow
    alice, lamp, _ = _shop(uow)
    CartService(uow).add_to_cart(alice.id, lamp.id, 2)
    buyer = uow()
    with buyer:
        order = buyer.orders.place(alice.id, "k")  # holds the cart for update
        archiving, outcome = _in_thread(lambda: _archive_user(uow, alice.id))
        waited = _wait_for_lock_wait(clean_database)
        buyer.commit()
    archiving.join(30)
    print(f"\narchiving the user waited for its checkout ({waited:.3f} s), then: {outcome}")
    assert outcome == [None]
    assert OrderService(uow).get_order(alice.id, order.id) == order
    assert _stock_and_archived(clean_database, lamp.id) == (3, False)


def test_an_add_for_a_user_being_archived_finds_no_user(
    postgres_uow: PostgresUnitOfWorkFactory, clean_database: str
) -> None:
    uow = postgres_uow
    alice, lamp, desk = _shop(uow)
    CartService(uow).add_to_cart(alice.id, desk.id, 1)
    archiver = uow()
    with archiver:
        archiver.users.delete(alice.id)  # holds the user's row and has deleted its cart
        adding, outcome = _in_thread(lambda: CartService(uow).add_to_cart(alice.id, lamp.id, 1))
        waited = _wait_for_lock_wait(clean_database)
        archiver.commit()
    adding.join(30)
    print(f"\nthe add waited for the archiving (seen after {waited:.3f} s), then: {outcome}")
    assert len(outcome) == 1
    assert isinstance(outcome[0], UserNotFound)
    with psycopg.connect(clean_database) as conn:
        assert conn.execute("SELECT count(*) FROM carts").fetchone() == (0,)


def _place(uow: PostgresUnitOfWorkFactory, user_id: int) -> Order:
    """A checkout without the service's retries: a deadlock would show as TransientConflict."""
    with uow() as work:
        order = work.orders.place(user_id, "k")
        work.commit()
    return order


def _archive(uow: PostgresUnitOfWorkFactory, product_id: int) -> None:
    with uow() as work:
        work.products.delete(product_id)
        work.commit()


def _archive_user(uow: PostgresUnitOfWorkFactory, user_id: int) -> None:
    with uow() as work:
        work.users.delete(user_id)
        work.commit()
