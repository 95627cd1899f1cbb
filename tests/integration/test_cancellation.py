"""A task cancelled at any await inside a use case (a client that disconnects, `asyncio.timeout`)
stores nothing partial, leaves no connection in the pool inside a transaction or mid-statement,
and lets CancelledError propagate; a retry with the same idempotency key is safe.

Each test cancels the use case at its n-th wait on the server (every round trip of psycopg's
async connection goes through `AsyncConnection.wait`), for n = 1, 2, ... until the use case
runs to its end before the n-th wait, and checks the invariants after each."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any, ClassVar

import psycopg
import pytest
import pytest_asyncio
from psycopg.pq import TransactionStatus

from adapters.hashing import InsecureTestHasher
from adapters.postgres.async_pool import AsyncShopdbPool, create_pool_async
from adapters.postgres.unit_of_work_async import AsyncPostgresUnitOfWorkFactory
from domain.errors import UsernameTaken
from domain.model import NewProduct
from services.accounts_async import AsyncAccountService
from services.carts_async import AsyncCartService
from services.catalog_async import AsyncCatalogService
from shopdb.testdb import pool_config

# A use case taking more waits than this is not what these tests were written for.
MOST_WAITS = 60


class CancellingConnection(psycopg.AsyncConnection[Any]):
    """Cancels the task that runs its `countdown`-th wait on the server, as the wait begins:
    the statement has been sent, its answer not yet read."""

    countdown: ClassVar[int | None] = None
    fired: ClassVar[bool] = False

    async def wait(self, gen: Any, *args: Any, **kwargs: Any) -> Any:
        cls = CancellingConnection
        if cls.countdown is not None:
            cls.countdown -= 1
            if cls.countdown == 0:
                cls.countdown = None
                cls.fired = True
                task = asyncio.current_task()
                assert task is not None
                task.cancel()
        return await super().wait(gen, *args, **kwargs)


@pytest_asyncio.fixture
async def pool(clean_database: str) -> AsyncIterator[AsyncShopdbPool]:
    made = create_pool_async(
        pool_config(conninfo=clean_database, min_size=1, max_size=4, timeout=10),
        CancellingConnection,
    )
    await made.open(wait=True)
    yield made
    CancellingConnection.countdown = None
    await made.close()


async def cancelled_at(n: int, use_case: Callable[[], Awaitable[Any]]) -> bool:
    """Run `use_case`, cancelled at its n-th wait; whether it was (else it ran to its end)."""
    CancellingConnection.countdown, CancellingConnection.fired = n, False
    try:
        await use_case()
    except asyncio.CancelledError:
        assert CancellingConnection.fired, "cancelled by something else"
        return True
    finally:
        CancellingConnection.countdown = None
    assert not CancellingConnection.fired, "the cancellation was swallowed"
    return False


async def assert_pool_clean(pool: AsyncShopdbPool, url: str) -> None:
    """Every connection the pool holds is idle outside a transaction, and the server has no
    session of this database inside a transaction or running a statement."""
    held = []
    try:
        for _ in range(pool.get_stats().get("pool_available", 0)):
            conn = await pool.getconn()
            held.append(conn)
            assert conn.info.transaction_status == TransactionStatus.IDLE
    finally:
        for conn in held:
            await pool.putconn(conn)
    with psycopg.connect(url, autocommit=True) as check:
        busy = check.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
            " AND (state LIKE 'idle in transaction%%' OR state = 'active')"
        ).fetchone()
    assert busy == (0,)


def sql(url: str, query: str, *params: object) -> Any:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query, params).fetchall()


async def every_cancellation(
    pool: AsyncShopdbPool,
    url: str,
    prepare: Callable[[int], Awaitable[Any]],
    run: Callable[[Any], Awaitable[Any]],
    check: Callable[[Any, bool], Awaitable[None]],
) -> int:
    """For n = 1, 2, ...: prepare the n-th case, run it cancelled at its n-th wait, check the
    invariants (given whether it was cancelled) and the pool. Returns how many waits the use
    case takes."""
    for n in range(1, MOST_WAITS):
        case = await prepare(n)
        cancelled = await cancelled_at(n, functools.partial(run, case))
        await check(case, cancelled)
        await assert_pool_clean(pool, url)
        if not cancelled:
            print(f"cancelled at each of its {n - 1} waits")
            return n - 1
    pytest.fail(f"still waiting on the server after {MOST_WAITS} waits")


@pytest.mark.needs_session
async def test_checkout_cancelled_at_every_wait(pool: AsyncShopdbPool, clean_database: str) -> None:
    url = clean_database
    units = AsyncPostgresUnitOfWorkFactory(pool)
    accounts = AsyncAccountService(units, InsecureTestHasher())
    catalog = AsyncCatalogService(units)
    carts = AsyncCartService(units)
    lamp = await catalog.create_product("Lamp", Decimal("10.00"), inventory_count=10_000)
    desk = await catalog.create_product("Desk", Decimal("99.50"), inventory_count=10_000)

    async def prepare(n: int) -> tuple[int, str]:
        user = await accounts.register(f"buyer{n}", f"buyer{n}@example.com", "password-1")
        await carts.add_to_cart(user.id, lamp.id, 2)
        await carts.add_to_cart(user.id, desk.id, 1)
        return user.id, f"order-{n}"

    async def run(case: tuple[int, str]) -> None:
        await carts.checkout(*case)

    async def check(case: tuple[int, str], cancelled: bool) -> None:
        user_id, key = case
        # Retried with the same key, the checkout happens once, whatever the first attempt did.
        order = await carts.checkout(user_id, key)
        assert await carts.checkout(user_id, key) == order
        assert [(line.product_id, line.quantity) for line in order.lines] == [
            (lamp.id, 2),
            (desk.id, 1),
        ]
        assert sql(url, "SELECT count(*) FROM orders WHERE user_id = %s", user_id) == [(1,)]
        taken = sql(
            url,
            "SELECT p.id, 10000 - p.inventory_count, coalesce(sum(l.quantity), 0)"
            " FROM products p LEFT JOIN order_lines l ON l.product_id = p.id"
            " GROUP BY p.id ORDER BY p.id",
        )
        assert all(stock == sold for _, stock, sold in taken), taken

    assert await every_cancellation(pool, url, prepare, run, check) > 0


@pytest.mark.needs_session
async def test_add_to_cart_cancelled_at_every_wait(
    pool: AsyncShopdbPool, clean_database: str
) -> None:
    url = clean_database
    units = AsyncPostgresUnitOfWorkFactory(pool)
    accounts = AsyncAccountService(units, InsecureTestHasher())
    catalog = AsyncCatalogService(units)
    carts = AsyncCartService(units)
    lamp = await catalog.create_product("Lamp", Decimal("10.00"), inventory_count=100)

    async def prepare(n: int) -> int:
        user = await accounts.register(f"shopper{n}", f"shopper{n}@example.com", "password-1")
        return user.id

    async def run(user_id: int) -> None:
        await carts.add_to_cart(user_id, lamp.id, 3)

    async def check(user_id: int, cancelled: bool) -> None:
        lines = sql(
            url,
            "SELECT i.quantity FROM cart_items i JOIN carts c ON c.id = i.cart_id"
            " WHERE c.user_id = %s",
            user_id,
        )
        # All of it or nothing: never a line of another quantity, never two lines.
        assert lines in ([], [(3,)]) if cancelled else lines == [(3,)]
        carts_of_user = sql(url, "SELECT count(*) FROM carts WHERE user_id = %s", user_id)
        assert carts_of_user in ([(0,)], [(1,)])

    assert await every_cancellation(pool, url, prepare, run, check) > 0


@pytest.mark.needs_session
async def test_registration_cancelled_at_every_wait(
    pool: AsyncShopdbPool, clean_database: str
) -> None:
    url = clean_database
    accounts = AsyncAccountService(AsyncPostgresUnitOfWorkFactory(pool), InsecureTestHasher())

    async def prepare(n: int) -> str:
        return f"newcomer{n}"

    async def run(name: str) -> None:
        await accounts.register(name, f"{name}@example.com", "password-1")

    async def check(name: str, cancelled: bool) -> None:
        users = sql(url, "SELECT count(*) FROM users WHERE username = %s", name)
        keys = sql(url, "SELECT count(*) FROM usernames WHERE username_lower = lower(%s)", name)
        email = f"{name}@example.com"
        emails = sql(url, "SELECT count(*) FROM emails WHERE email_lower = lower(%s)", email)
        assert users == keys == emails, (users, keys, emails)  # the user whole, or not at all
        try:  # registering again: the name is taken exactly when the first attempt stored it
            await accounts.register(name, f"{name}@example.com", "password-1")
            assert users == [(0,)]
        except UsernameTaken:
            assert users == [(1,)]

    assert await every_cancellation(pool, url, prepare, run, check) > 0


@pytest.mark.needs_session
async def test_import_cancelled_at_every_wait(pool: AsyncShopdbPool, clean_database: str) -> None:
    url = clean_database
    catalog = AsyncCatalogService(AsyncPostgresUnitOfWorkFactory(pool))

    async def prepare(n: int) -> list[NewProduct]:
        return [
            NewProduct(name=f"Batch {n} item {i}", price=Decimal("1.25"), inventory_count=i)
            for i in range(50)
        ]

    async def run(rows: list[NewProduct]) -> None:
        assert await catalog.import_products(rows) == len(rows)

    async def check(rows: list[NewProduct], cancelled: bool) -> None:
        prefix = rows[0].name.rsplit(" ", 1)[0] + " %"
        stored = sql(url, "SELECT count(*) FROM products WHERE name LIKE %s", prefix)
        assert stored in ([(0,)], [(len(rows),)]) if cancelled else stored == [(len(rows),)]

    assert await every_cancellation(pool, url, prepare, run, check) > 0
