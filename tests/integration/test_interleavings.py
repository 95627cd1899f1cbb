"""Orders of events forced with a second connection, not hoped for: checkout waiting for a
cart another unit of work is changing, and a transaction the server has aborted."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import psycopg
import pytest

from adapters.postgres import PostgresUnitOfWorkFactory, create_pool
from domain.errors import (
    CartItemNotFound,
    ProductNotFound,
    RollbackRequired,
    StorageUnavailable,
    TransactionAborted,
)
from domain.model import NewProduct, NewUser, Order
from services import CartService
from shopdb.testdb import pool_config


def _wait_for_lock_wait(url: str, timeout: float = 10.0) -> float:
    """Until some backend of this database waits for a lock; returns how long that took."""
    started = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() - started < timeout:
            waiting = conn.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()
            if waiting and waiting[0]:
                return time.monotonic() - started
            time.sleep(0.01)
    raise AssertionError("nothing ever waited for the lock")


def test_checkout_sells_a_line_committed_while_it_waited_for_the_cart(
    postgres_uow: PostgresUnitOfWorkFactory, clean_database: str
) -> None:
    uow = postgres_uow
    with uow() as work:
        alice = work.users.add(NewUser(username="alice", email="a@example.com", password_hash="h"))
        a = work.products.add(NewProduct(name="A", price=Decimal("1.00"), inventory_count=5))
        b = work.products.add(NewProduct(name="B", price=Decimal("2.00"), inventory_count=5))
        cart = work.carts.get_or_create(alice.id)
        work.carts.add_item(cart.id, a.id, 1)
        work.commit()

    receipts: list[Order] = []
    writer = uow()
    with writer:
        writer.carts.add_item(cart.id, b.id, 2)  # holds a key-share lock on the cart row
        checkout = threading.Thread(
            target=lambda: receipts.append(CartService(uow).checkout(alice.id))
        )
        checkout.start()
        waited = _wait_for_lock_wait(clean_database)  # checkout now waits for the cart
        writer.commit()
    checkout.join(30)
    print(f"\ncheckout waited for the cart lock (seen after {waited:.3f} s), then:", receipts)

    assert [(line.product_id, line.quantity) for line in receipts[0].lines] == [
        (a.id, 1),
        (b.id, 2),
    ]
    with uow(read_only=True) as work:
        assert work.products.get(b.id).inventory_count == 3
        left = work.carts.find_for_user(alice.id)
        assert left is not None
        assert left.is_empty


def test_checkout_sells_a_quantity_changed_while_it_waited_for_the_line(
    postgres_uow: PostgresUnitOfWorkFactory, clean_database: str
) -> None:
    """Changing a quantity takes no lock on the cart row: checkout holds the cart, then waits
    for the line itself, and must sell and record the quantity committed meanwhile."""
    uow = postgres_uow
    with uow() as work:
        alice = work.users.add(NewUser(username="alice", email="a@example.com", password_hash="h"))
        a = work.products.add(NewProduct(name="A", price=Decimal("1.00"), inventory_count=9))
        cart = work.carts.get_or_create(alice.id)
        work.carts.add_item(cart.id, a.id, 1)
        work.commit()

    orders: list[Order] = []
    writer = uow()
    with writer:
        writer.carts.set_quantity(cart.id, a.id, 4)  # holds the line's row lock
        checkout = threading.Thread(
            target=lambda: orders.append(CartService(uow).checkout(alice.id, "k"))
        )
        checkout.start()
        waited = _wait_for_lock_wait(clean_database)  # checkout now waits for the line
        writer.commit()
    checkout.join(30)
    print(f"\ncheckout waited for the line (seen after {waited:.3f} s), then:", orders)

    assert [(line.product_id, line.quantity) for line in orders[0].lines] == [(a.id, 4)]
    with uow(read_only=True) as work:
        assert work.products.get(a.id).inventory_count == 5
        left = work.carts.find_for_user(alice.id)
        assert left is not None
        assert left.is_empty


def test_a_quantity_changed_while_checkout_held_the_line_finds_it_sold(
    postgres_uow: PostgresUnitOfWorkFactory, clean_database: str
) -> None:
    """change_quantity finds the user's line in the statement that writes it: one that waited
    for a checkout's lock sees the line gone once the checkout commits, and changes nothing."""
    uow = postgres_uow
    with uow() as work:
        alice = work.users.add(NewUser(username="alice", email="a@example.com", password_hash="h"))
        a = work.products.add(NewProduct(name="A", price=Decimal("1.00"), inventory_count=9))
        work.carts.add_for_user(alice.id, a.id, 2)
        work.commit()

    outcomes: list[object] = []

    def change() -> None:
        try:
            outcomes.append(CartService(uow).change_quantity(alice.id, a.id, 5))
        except CartItemNotFound as exc:
            outcomes.append(exc)

    checkout = uow()
    with checkout:
        checkout.orders.place(alice.id, "k")  # holds the cart and its lines until it commits
        changing = threading.Thread(target=change)
        changing.start()
        waited = _wait_for_lock_wait(clean_database)  # change_quantity now waits for the line
        checkout.commit()
    changing.join(30)
    print(f"\nchange_quantity waited for the line (seen after {waited:.3f} s), then:", outcomes)

    assert [type(outcome) for outcome in outcomes] == [CartItemNotFound]
    with uow(read_only=True) as work:
        assert work.products.get(a.id).inventory_count == 7
        left = work.carts.find_for_user(alice.id)
        assert left is not None
        assert left.is_empty


def test_commit_of_a_transaction_the_server_aborted_raises(
    postgres_uow: PostgresUnitOfWorkFactory,
) -> None:
    with postgres_uow() as work:
        work.products.add(NewProduct(name="Kept?", price=Decimal("1.00")))
        # A statement that fails outside the repositories (as a bug or an extension might):
        # the server aborts the transaction and would answer COMMIT with ROLLBACK.
        session = work._session
        with pytest.raises(psycopg.errors.DivisionByZero):
            session.cur.execute("SELECT 1 / 0")
        with pytest.raises(TransactionAborted):
            work.commit()
    with postgres_uow(read_only=True) as work:
        assert work.products.get_many([1]) == {}


@pytest.mark.needs_session("its statement_timeout is a startup option; the direct runs cover it")
def test_a_read_the_database_fails_rolls_the_transaction_back_as_documented(
    clean_database: str,
) -> None:
    """A read cancelled by statement_timeout (here waiting behind a migration's lock) aborts
    the transaction on PostgreSQL: the unit of work says so with StorageUnavailable, refuses
    writes until the caller rolls back (the write before it is gone), and its commit stores
    only what came after."""
    pool = create_pool(
        pool_config(conninfo=clean_database, min_size=1, max_size=2, statement_timeout_ms=500)
    )
    uow = PostgresUnitOfWorkFactory(pool)
    with psycopg.connect(clean_database) as other:
        other.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        with uow() as work:
            lost = work.products.add(NewProduct(name="Lost", price=Decimal("1.00")))
            with pytest.raises(StorageUnavailable, match="statement_timeout"):
                work.users.get_by_username("nobody")
            other.rollback()
            with pytest.raises(ProductNotFound):
                work.products.get(lost.id)
            kept_product = NewProduct(name="Kept", price=Decimal("1.00"))
            with pytest.raises(RollbackRequired, match=r"a read \(StorageUnavailable\)"):
                work.products.add(kept_product)
            with pytest.raises(RollbackRequired):
                work.commit()
            work.rollback()
            kept = work.products.add(kept_product)
            work.commit()
    with uow(read_only=True) as work:
        assert list(work.products.get_many([lost.id, kept.id])) == [kept.id]
    pool.close()
