"""The hot product's row held by a second connection while a buyer checks out: a buyer whose
product is sold out fails without queueing for the row; one who may still get the last unit
waits for the holder only, and reads the stock its outcome left."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from adapters.postgres import PostgresUnitOfWorkFactory, create_pool
from domain.errors import InsufficientInventory
from domain.model import NewProduct, NewUser, Order
from services import CartService
from shopdb.testdb import pool_config
from tests.integration.test_archive_interleavings import _in_thread

# The waits are read from pg_locks by the holder's backend pid: a session of its own, which a
# transaction pooler does not give (its pid is not the backend's that runs each transaction).
pytestmark = pytest.mark.needs_session("the holder's locks are found by its backend pid")


@pytest.fixture
def uow(clean_database: str) -> Iterator[PostgresUnitOfWorkFactory]:
    """A pool of the test's own: a buyer wrongly queued for the row gives up after 3 s
    (statement_timeout) instead of hanging the test."""
    pool = create_pool(
        pool_config(conninfo=clean_database, min_size=1, max_size=3, statement_timeout_ms=3000)
    )
    pool.wait()
    yield PostgresUnitOfWorkFactory(pool)
    pool.close(timeout=1.0)


def _shop(uow: PostgresUnitOfWorkFactory, stock: int) -> tuple[list[int], int, int]:
    """Alice and Bob, each with one unit of the hot product and one of a cold one in the
    cart; the hot product has `stock` units. (user ids, hot id, cold id)"""
    with uow() as work:
        users = [
            work.users.add(NewUser(username=n, email=f"{n}@example.com", password_hash="h")).id
            for n in ("alice", "bob")
        ]
        cold = work.products.add(NewProduct(name="Cold", price=Decimal("1.00"), inventory_count=9))
        hot = work.products.add(NewProduct(name="Hot", price=Decimal("5.00"), inventory_count=5))
        for user in users:
            work.carts.add_for_user(user, cold.id, 1)
            work.carts.add_for_user(user, hot.id, 1)
        work.products.reserve(hot.id, 5 - stock)
        work.commit()
    return users, hot.id, cold.id


def _state(url: str, hot: int, cold: int) -> tuple[Any, ...]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT inventory_count FROM products WHERE id = %s),"
            " (SELECT inventory_count FROM products WHERE id = %s),"
            " (SELECT count(*) FROM orders), (SELECT count(*) FROM cart_items)",
            (hot, cold),
        ).fetchone()
    assert row is not None
    return tuple(row)


def _waits_for(url: str, holder: int, buyer: threading.Thread) -> list[tuple[Any, ...]]:
    """Until the buyer's checkout ends or some backend waits for `holder`: the lock it waits
    for and the row locks it holds in the queue (locktype, relation, granted), or [] when the
    buyer finished without waiting."""
    with psycopg.connect(url, autocommit=True) as conn:
        while buyer.is_alive():
            rows = conn.execute(
                "SELECT l.locktype, l.relation::regclass::text, l.granted FROM pg_stat_activity a"
                " JOIN pg_locks l ON l.pid = a.pid AND (NOT l.granted OR l.locktype = 'tuple')"
                " WHERE %s = ANY(pg_blocking_pids(a.pid)) ORDER BY l.granted",
                (holder,),
            ).fetchall()
            if rows:
                return [tuple(r) for r in rows]
            buyer.join(0.005)
    return []


@pytest.mark.parametrize(
    "holding",
    [
        "SELECT FROM products WHERE id = %s FOR NO KEY UPDATE",  # a sold-out buyer, a repricing
        "UPDATE products SET inventory_count = inventory_count + 3 WHERE id = %s",  # a restock
    ],
)
def test_a_sold_out_checkout_fails_without_waiting_for_the_row(
    uow: PostgresUnitOfWorkFactory, clean_database: str, holding: str
) -> None:
    (alice, bob), hot, cold = _shop(uow, 1)
    CartService(uow).checkout(bob, "b")  # the last unit
    before = _state(clean_database, hot, cold)
    with psycopg.connect(clean_database) as holder:
        holder.execute(holding, (hot,))  # holds the row, uncommitted
        buyer, outcome = _in_thread(lambda: CartService(uow).checkout(alice, "a"))
        waited = _waits_for(clean_database, holder.info.backend_pid, buyer)
        buyer.join(10)
        print("\nwhile another transaction held the row:", outcome, "waited for:", waited)
        assert waited == []
        assert isinstance(outcome[0], InsufficientInventory)
        assert (outcome[0].product_id, outcome[0].requested, outcome[0].available) == (hot, 1, 0)
        assert _state(clean_database, hot, cold) == before
        holder.commit()
    if holding.startswith("UPDATE"):  # restocked: the same key sells now
        order = CartService(uow).checkout(alice, "a")
        assert [line.product_id for line in order.lines] == [cold, hot]
        assert _state(clean_database, hot, cold)[:3] == (2, 7, 2)


@pytest.mark.parametrize("ending", ["commit", "rollback"])
def test_a_checkout_queued_for_the_last_unit_waits_for_its_holder_and_reads_its_outcome(
    uow: PostgresUnitOfWorkFactory, clean_database: str, ending: str
) -> None:
    """Another sale of the last unit is under way: whether the buyer gets it depends on that
    sale's outcome, so the buyer waits for that transaction (on the hot row, nothing else),
    then sells on the stock it left, or names it."""
    (alice, _), hot, cold = _shop(uow, 1)
    with psycopg.connect(clean_database) as holder:
        holder.execute(
            "UPDATE products SET inventory_count = inventory_count - 1 WHERE id = %s", (hot,)
        )
        buyer, outcome = _in_thread(lambda: CartService(uow).checkout(alice, "a"))
        waited = _waits_for(clean_database, holder.info.backend_pid, buyer)
        print("\nthe buyer waits for:", waited)
        # The sale's transaction, holding its place in the hot row's queue: nothing else.
        assert waited == [("transactionid", None, False), ("tuple", "products", True)]
        holder.commit() if ending == "commit" else holder.rollback()
        buyer.join(10)
    print(f"after the holder's {ending}:", outcome)
    if ending == "commit":
        assert isinstance(outcome[0], InsufficientInventory)
        assert (outcome[0].product_id, outcome[0].requested, outcome[0].available) == (hot, 1, 0)
        assert _state(clean_database, hot, cold) == (0, 9, 0, 4)
    else:
        assert isinstance(outcome[0], Order)
        assert _state(clean_database, hot, cold) == (0, 8, 1, 2)


def test_a_quantity_changed_while_the_checkout_waited_for_the_product_is_the_one_sold(
    uow: PostgresUnitOfWorkFactory, clean_database: str
) -> None:
    """The checkout statement's snapshot is older than the product's lock: the lines it sells
    are the ones it deletes once the lock is held, quantities changed meanwhile included."""
    (alice, _), hot, cold = _shop(uow, 3)
    with psycopg.connect(clean_database) as holder:
        holder.execute("SELECT FROM products WHERE id = %s FOR NO KEY UPDATE", (hot,))
        buyer, outcome = _in_thread(lambda: CartService(uow).checkout(alice, "a"))
        assert _waits_for(clean_database, holder.info.backend_pid, buyer)
        CartService(uow).change_quantity(alice, hot, 2)  # takes no product lock: not queued
        holder.commit()
        buyer.join(10)
    order = outcome[0]
    assert isinstance(order, Order)
    assert [(line.product_id, line.quantity) for line in order.lines] == [(cold, 1), (hot, 2)]
    assert order.total == Decimal("11.00")
    assert _state(clean_database, hot, cold) == (1, 8, 1, 2)  # Bob's two lines are left
