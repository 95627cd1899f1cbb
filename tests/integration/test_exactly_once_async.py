"""Checkout exactly once: the reply to COMMIT is lost (a proxy forwards COMMIT and drops the
answer), the caller hears CommitOutcomeUnknown, and the retry with the same key returns the
order that was committed without selling again. Also: concurrent calls with one key."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest

from domain.errors import CommitOutcomeUnknown, DomainError
from domain.model import NewProduct, NewUser, Order
from ports.unit_of_work_async import AsyncUnitOfWorkFactory
from services import AsyncCartService, AsyncOrderService
from shopdb.testdb import pool_config
from tests.concurrent_async import Barrier, run_all
from tests.faults import DroppingProxy

if True:  # ASYNC
    from adapters.postgres.async_pool import create_pool_async
    from adapters.postgres.unit_of_work_async import AsyncPostgresUnitOfWorkFactory
else:
    from adapters.postgres import PostgresUnitOfWorkFactory, create_pool


async def _shop(uow: AsyncUnitOfWorkFactory) -> tuple[int, list[int]]:
    async with uow() as work:
        user = await work.users.add(
            NewUser(username="alice", email="a@example.com", password_hash="h")
        )
        products = [
            await work.products.add(
                NewProduct(name=f"P{n}", price=Decimal("2.50"), inventory_count=100)
            )
            for n in range(3)
        ]
        await work.commit()
    return user.id, [p.id for p in products]


def _sold(url: str) -> tuple[int, int, int]:
    """Orders, lines, and units taken from stock, as stored."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM order_lines),"
            " (SELECT 300 - sum(inventory_count) FROM products)"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


async def test_a_retry_after_a_lost_commit_reply_returns_the_committed_order(
    clean_database: str,
) -> None:
    proxy = DroppingProxy(clean_database, "COMMIT")
    pool = create_pool_async(
        pool_config(
            conninfo=proxy.client_url(),
            min_size=1,
            max_size=1,
            timeout=5.0,
            statement_timeout_ms=2000,
            deadline_margin=0.5,
        )
    )
    if True:  # ASYNC
        await pool.open(wait=True)
    else:
        pool.wait()
    try:
        uow = AsyncPostgresUnitOfWorkFactory(pool)
        carts = AsyncCartService(uow)
        user, products = await _shop(uow)
        for n in range(6):  # past psycopg's prepare threshold: COMMIT is then bound by name
            await carts.add_to_cart(user, products[n % 3], 1)
        await carts.add_to_cart(user, products[1], 2)
        await carts.add_to_cart(user, products[2], 2)
        proxy.arm()
        with pytest.raises(CommitOutcomeUnknown):
            await carts.checkout(user, "checkout-1")
        assert proxy.fired.is_set()
        assert proxy.answered.wait(10)  # it did happen, once the server has run the COMMIT
        assert _sold(clean_database) == (1, 3, 10)
        retried = await carts.checkout(user, "checkout-1")
        print(f"\nCOMMIT answer dropped; the retry returned order #{retried.id}: {retried.lines}")
        assert _sold(clean_database) == (1, 3, 10)  # and only once
        assert [(x.product_id, x.quantity) for x in retried.lines] == [
            (products[0], 2),
            (products[1], 4),
            (products[2], 4),
        ]
        assert await AsyncOrderService(uow).get_order(user, retried.id) == retried
    finally:
        await pool.close()
        proxy.close()


async def test_a_retry_after_a_lost_commit_reply_and_a_new_line_returns_the_order(
    clean_database: str,
) -> None:
    """Between the lost reply and the retry the shopper adds a line: the key names the
    checkout that happened, so the retry returns its order, and the new line stays in the cart
    unsold."""
    proxy = DroppingProxy(clean_database, "COMMIT")
    pool = create_pool_async(
        pool_config(
            conninfo=proxy.client_url(),
            min_size=1,
            max_size=1,
            timeout=5.0,
            statement_timeout_ms=2000,
            deadline_margin=0.5,
        )
    )
    if True:  # ASYNC
        await pool.open(wait=True)
    else:
        pool.wait()
    try:
        uow = AsyncPostgresUnitOfWorkFactory(pool)
        carts = AsyncCartService(uow)
        user, products = await _shop(uow)
        for n in range(6):  # past psycopg's prepare threshold: COMMIT is then bound by name
            await carts.add_to_cart(user, products[n % 2], 1)
        proxy.arm()
        with pytest.raises(CommitOutcomeUnknown):
            await carts.checkout(user, "checkout-1")
        assert proxy.answered.wait(10)  # the server has run the COMMIT
        assert _sold(clean_database) == (1, 2, 6)
        await carts.add_to_cart(user, products[2], 4)  # the world moves before the retry
        retried = await carts.checkout(user, "checkout-1")
        print(f"\nCOMMIT answer dropped, a line added; the retry returned order #{retried.id}")
        assert [(x.product_id, x.quantity) for x in retried.lines] == [
            (products[0], 3),
            (products[1], 3),
        ]
        assert _sold(clean_database) == (1, 2, 6)  # nothing sold twice, the new line unsold
        cart = await carts.view_cart(user)
        assert cart is not None
        assert [(i.product_id, i.quantity) for i in cart.items] == [(products[2], 4)]
    finally:
        await pool.close()
        proxy.close()


async def test_concurrent_checkouts_with_one_key_sell_once(
    postgres_uow_async: AsyncUnitOfWorkFactory,
) -> None:
    user, products = await _shop(postgres_uow_async)
    carts = AsyncCartService(postgres_uow_async)
    for product in products:
        await carts.add_to_cart(user, product, 3)
    start = Barrier(8)
    results: list[Order | DomainError] = []

    async def checkout() -> None:
        await start.wait()
        try:
            results.append(await carts.checkout(user, "one-key"))
        except DomainError as exc:
            results.append(exc)

    await run_all([checkout] * 8)
    print(f"\n8 concurrent checkouts with one key: {[type(r).__name__ for r in results]}")
    orders = {r.id for r in results if isinstance(r, Order)}
    assert orders == {1}
    assert all(isinstance(r, Order) for r in results)
    async with postgres_uow_async(read_only=True) as work:
        assert [(await work.products.get(p)).inventory_count for p in products] == [97, 97, 97]
