"""Faults on PostgreSQL: killed backends, an exhausted pool, timeouts, a schema change under a
live pool. Each test prints what it measured."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from domain.errors import CommitOutcomeUnknown, StorageUnavailable
from domain.model import NewProduct
from shopdb.migrations import upgrade
from shopdb.pooler import set_role_timeouts
from shopdb.settings import load_settings
from shopdb.testdb import pool_config, pooled, scratch_database
from tests.concurrent_async import run_all

if True:  # ASYNC
    import asyncio

    from adapters.postgres.async_pool import AsyncShopdbPool, create_pool_async
    from adapters.postgres.unit_of_work_async import AsyncPostgresUnitOfWorkFactory
else:
    from adapters.postgres import PostgresUnitOfWorkFactory, ShopdbPool, create_pool

APP = "shopdb-faults"


@pytest.fixture
def url(admin_url: str) -> Iterator[str]:
    with scratch_database(admin_url, prefix="shopdb_faults") as scratch:
        upgrade(scratch)
        yield scratch


async def _pool(url: str, **options: Any) -> AsyncShopdbPool:
    config = {"min_size": 2, "max_size": 2, "timeout": 5.0, "application_name": APP, **options}
    pool = create_pool_async(pool_config(conninfo=url, **config))
    if True:  # ASYNC
        await pool.open(wait=True)
    else:
        pool.wait()
    return pool


async def _product(uow: AsyncPostgresUnitOfWorkFactory, stock: int = 10) -> int:
    async with uow(autocommit=True) as work:
        return (
            await work.products.add(
                NewProduct(name="Lamp", price=Decimal("1.00"), inventory_count=stock)
            )
        ).id


def _backends(url: str, state: str | None = None) -> list[int]:
    query = "SELECT pid FROM pg_stat_activity WHERE application_name = %s"
    params: tuple[str, ...] = (APP,)
    if state is not None:
        query += " AND state = %s"
        params = (APP, state)
    with psycopg.connect(url, autocommit=True) as conn:
        return [row[0] for row in conn.execute(query, params)]


def _terminate(url: str) -> int:
    """Kill the pool's backends and wait until they have exited (up to 5 s each)."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
            " WHERE application_name = %s",
            (APP,),
        ).fetchall()
    assert all(row[0] for row in rows)
    return len(rows)


async def test_killed_backends_never_reach_the_next_caller(url: str) -> None:
    # One connection: the next caller gets exactly the one whose backend was just killed,
    # moments after it came back (too soon for the idle check).
    pool = await _pool(url, min_size=1, max_size=1)
    uow = AsyncPostgresUnitOfWorkFactory(pool)
    product = await _product(uow)
    failures = 0
    for _ in range(20):
        assert _terminate(url) == 1
        started = time.monotonic()  # straight away: the connections were returned just now
        try:
            async with uow(read_only=True) as work:
                await work.products.get(product)
        except StorageUnavailable:
            failures += 1
        recovered = time.monotonic() - started
    await pool.close()
    print(f"\nkilled every backend 20 times: {failures} failed requests,", end=" ")
    print(f"last request took {recovered:.3f} s")
    assert failures == 0


async def test_an_exhausted_pool_times_out_clearly_and_stays_whole(url: str) -> None:
    pool = await _pool(url, timeout=0.5)
    uow = AsyncPostgresUnitOfWorkFactory(pool)
    product = await _product(uow)
    async with uow(), uow():
        started = time.monotonic()
        if True:  # ASYNC
            with pytest.raises(StorageUnavailable, match="no database connection available"):
                async with uow(read_only=True):
                    pass
        else:
            with (
                pytest.raises(StorageUnavailable, match="no database connection available"),
                uow(read_only=True),
            ):
                pass
        waited = time.monotonic() - started
    print(f"\npool exhausted: StorageUnavailable after {waited:.2f} s (timeout 0.5 s)")

    failed = 0
    for n in range(1000):
        try:
            async with uow() as work:
                await work.products.restock(product, 1)
                if n % 10 == 0:
                    raise RuntimeError("the caller fails mid-transaction")
                await work.commit()
        except RuntimeError:
            failed += 1
    stats = pool.get_stats()
    idle = _backends(url, "idle")
    in_transaction = _backends(url, "idle in transaction")
    async with uow(read_only=True) as work:
        stock = (await work.products.get(product)).inventory_count
    await pool.close()
    print(f"1000 units of work, {failed} failing mid-transaction: pool {stats}, idle {len(idle)}")
    # The 100 failed units of work rolled back; the 900 others committed, on connections that
    # all came back to the pool, none left inside a transaction.
    assert stock == 10 + 900
    assert stats["pool_available"] == stats["pool_size"] == 2
    assert stats.get("connections_lost", 0) == 0
    assert in_transaction == []
    assert len(idle) == 2


async def test_statement_timeout_is_a_clear_error_and_the_pool_recovers(url: str) -> None:
    pool = await _pool(url, statement_timeout_ms=200)
    uow = AsyncPostgresUnitOfWorkFactory(pool)
    product = await _product(uow)
    async with uow() as holder:
        await holder.products.reserve(product, 1)  # holds the row lock
        with pytest.raises(StorageUnavailable, match="statement_timeout"):
            async with uow() as blocked:
                await blocked.products.reserve(product, 1)
        await holder.commit()
    async with uow() as work:
        assert (await work.products.reserve(product, 1)).inventory_count == 8
        await work.commit()
    await pool.close()


async def test_idle_in_transaction_timeout_is_a_clear_error_and_the_pool_recovers(
    url: str,
) -> None:
    if pooled():  # no startup options in pooler mode: the timeout is the role's default
        set_role_timeouts(url, url, load_settings(idle_in_transaction_timeout_ms=200))
    pool = await _pool(url, idle_in_transaction_timeout_ms=200)
    uow = AsyncPostgresUnitOfWorkFactory(pool)
    product = await _product(uow)

    async def reserve_twice_with_a_pause() -> None:
        async with uow() as work:
            await work.products.reserve(product, 1)
            if True:  # ASYNC
                await asyncio.sleep(0.6)
            else:
                time.sleep(0.6)
            await work.products.reserve(product, 1)

    with pytest.raises(StorageUnavailable) as info:
        await reserve_twice_with_a_pause()
    print(f"\nidle in transaction: {info.value}")
    async with uow() as work:
        assert (
            await work.products.reserve(product, 1)
        ).inventory_count == 9  # the first was undone
        await work.commit()
    await pool.close()


async def test_a_commit_after_the_idle_timeout_is_a_known_failure_not_an_unknown_outcome(
    url: str,
) -> None:
    """The server ends a session idle in its transaction with its reason (25P03) before it
    reads the COMMIT: the transaction was rolled back, so the outcome is known."""
    if pooled():  # no startup options in pooler mode: the timeout is the role's default
        set_role_timeouts(url, url, load_settings(idle_in_transaction_timeout_ms=200))
    pool = await _pool(url, idle_in_transaction_timeout_ms=200)
    uow = AsyncPostgresUnitOfWorkFactory(pool)
    product = await _product(uow)
    async with uow() as work:
        await work.products.reserve(product, 1)
        if True:  # ASYNC
            await asyncio.sleep(0.6)
        else:
            time.sleep(0.6)
        with pytest.raises(StorageUnavailable) as info:
            await work.commit()
    print(f"\ncommit after the idle timeout: {type(info.value).__name__}: {info.value}")
    assert not isinstance(info.value, CommitOutcomeUnknown)
    assert "nothing was committed" in str(info.value)
    async with uow(read_only=True) as work:
        assert (await work.products.get(product)).inventory_count == 10
    await pool.close()


async def test_a_column_added_under_a_live_pool_breaks_nothing(url: str) -> None:
    pool = await _pool(url)
    uow = AsyncPostgresUnitOfWorkFactory(pool)
    product = await _product(uow)

    async def read_all() -> int:
        errors = 0
        for _ in range(50):  # past psycopg's prepare threshold on every connection
            try:
                async with uow(read_only=True) as work:
                    await work.products.get(product)
            except StorageUnavailable:
                errors += 1
        return errors

    assert await read_all() == 0
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ALTER TABLE products ADD COLUMN colour TEXT")
        conn.execute("ALTER TABLE users ADD COLUMN nickname TEXT")
    errors = await read_all()
    await pool.close()
    print(f"\ncolumn added under a live pool: {errors} errors afterwards")
    assert errors == 0


async def test_concurrent_callers_on_an_exhausted_pool_all_finish(url: str) -> None:
    pool = await _pool(url, timeout=5.0)
    uow = AsyncPostgresUnitOfWorkFactory(pool)
    product = await _product(uow, stock=1000)
    done: list[int] = []

    async def buyer() -> None:
        for _ in range(25):
            async with uow() as work:
                await work.products.reserve(product, 1)
                await work.commit()
        done.append(1)

    await run_all([buyer] * 8)
    async with uow(read_only=True) as work:
        left = (await work.products.get(product)).inventory_count
    await pool.close()
    assert (len(done), left) == (8, 1000 - 200)
