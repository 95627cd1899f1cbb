"""On a server this module owns, behind a proxy that drops the answer to one statement: when
the answer to the ROLLBACK that undoes a failed write is lost, the next commit says nothing
was committed, not that the outcome is unknown (no COMMIT was ever sent)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest

from adapters.postgres import PoolConfig
from domain.errors import (
    CommitOutcomeUnknown,
    InsufficientInventory,
    RollbackRequired,
    StorageUnavailable,
)
from domain.model import NewProduct
from shopdb.embedded import ensure_database, server_url, start_server
from shopdb.migrations import upgrade
from shopdb.throwaway import throwaway_dir
from tests.faults import DroppingProxy

if True:  # ASYNC
    import asyncio

    from adapters.postgres.async_pool import create_pool_async
    from adapters.postgres.unit_of_work_async import AsyncPostgresUnitOfWorkFactory
else:
    from adapters.postgres import PostgresUnitOfWorkFactory, create_pool


@pytest.fixture(scope="module")
def owned() -> Iterator[str]:
    with throwaway_dir() as root:
        handle = start_server(root / "pgdata", delete_on_exit=True)
        ensure_database(server_url(handle), "shop")
        url = server_url(handle, "shop")
        upgrade(url)
        yield url
        handle.cleanup()


async def test_a_commit_after_the_connection_was_already_lost_is_not_an_unknown_outcome(
    owned: str,
) -> None:
    """A unit of work commits A, adds B, then a reservation fails and the answer to the
    ROLLBACK undoing it is lost: writes and commit() refuse until the caller rolls back; after
    that the next write says the database is unavailable, and commit() refuses again, naming it
    (not CommitOutcomeUnknown: no COMMIT was sent); A is kept, B not."""
    proxy = DroppingProxy(owned, "ROLLBACK")
    pool = create_pool_async(
        PoolConfig(
            conninfo=proxy.client_url(),
            min_size=1,
            max_size=1,
            statement_timeout_ms=1000,
            deadline_margin=0.5,
            connect_timeout=2,
            timeout=3.0,
        )
    )
    if True:  # ASYNC
        await pool.open(wait=True)
    else:
        pool.wait()
    uow = AsyncPostgresUnitOfWorkFactory(pool)
    tag = uuid.uuid4().hex[:8]
    try:
        async with uow() as work:
            lamp = await work.products.add(
                NewProduct(name=f"A {tag}", price=Decimal("1"), inventory_count=1)
            )
            await work.commit()
            await work.products.add(NewProduct(name=f"B {tag}", price=Decimal("1")))
            proxy.arm()
            with pytest.raises(InsufficientInventory):
                await work.products.reserve(lamp.id, 5)
            assert proxy.fired.is_set()
            with pytest.raises(RollbackRequired, match=r"products\.reserve"):
                await work.products.add(NewProduct(name=f"C {tag}", price=Decimal("1")))
            with pytest.raises(RollbackRequired):
                await work.commit()
            await work.rollback()
            with pytest.raises(StorageUnavailable):
                await work.products.add(NewProduct(name=f"C {tag}", price=Decimal("1")))
            with pytest.raises(
                RollbackRequired, match=r"products\.add \(StorageUnavailable"
            ) as info:
                await work.commit()
        with psycopg.connect(owned) as conn:
            stored = conn.execute(
                "SELECT name FROM products WHERE name LIKE %s ORDER BY id", (f"% {tag}",)
            ).fetchall()
        assert stored == [(f"A {tag}",)]
        assert not isinstance(info.value, CommitOutcomeUnknown), str(info.value)
    finally:
        await pool.close()
        proxy.close()
        if True:  # ASYNC
            await asyncio.sleep(0.1)
        else:
            time.sleep(0.1)
