"""The async workloads through shopdb's async services, and the same SQL on raw psycopg and on
asyncpg: the SQL is the adapters' own constants, so the raw contestants run statement for
statement what shopdb runs (BEGIN and COMMIT included) and the difference is shopdb's."""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import asyncpg
import psycopg
from psycopg_pool import AsyncConnectionPool

from adapters.postgres import PoolConfig
from adapters.postgres.async_pool import create_pool_async
from adapters.postgres.carts_async import ADD_FOR_USER, LOAD_FOR_USER, LOCK_FOR_USER, LOCK_TO_ADD
from adapters.postgres.orders_async import PLACE
from adapters.postgres.products_async import BY_ID
from adapters.postgres.unit_of_work_async import AsyncPostgresUnitOfWorkFactory
from services.carts_async import AsyncCartService
from services.catalog_async import AsyncCatalogService


class Contestant(Protocol):
    """What the async bench asks of a contestant: each operation, and its pool's life."""

    name: str

    async def open(self) -> None: ...
    async def get_product(self, product_id: int) -> Any: ...
    async def load_cart(self, user_id: int) -> Any: ...
    async def add_to_cart(self, user_id: int, product_id: int) -> Any: ...
    async def checkout(self, user_id: int) -> Any: ...
    async def close(self) -> None: ...


class NoOrder(RuntimeError):
    """A hand-written checkout wrote no order (an empty cart, or a line short of stock)."""


class AsyncShopdb:
    """shopdb's async pool and unit of work, through the async services, as an application
    calls them."""

    name = "shopdb async"

    def __init__(self, url: str, pool_size: int) -> None:
        self.pool = create_pool_async(
            PoolConfig(conninfo=url, min_size=pool_size, max_size=pool_size, timeout=30)
        )
        uow = AsyncPostgresUnitOfWorkFactory(self.pool)
        self.catalog = AsyncCatalogService(uow)
        self.carts = AsyncCartService(uow)

    async def open(self) -> None:
        await self.pool.open(wait=True)

    async def get_product(self, product_id: int) -> Any:
        return await self.catalog.get_product(product_id)

    async def load_cart(self, user_id: int) -> Any:
        return await self.carts.view_cart(user_id)

    async def add_to_cart(self, user_id: int, product_id: int) -> Any:
        return await self.carts.add_to_cart(user_id, product_id, 1)

    async def checkout(self, user_id: int) -> Any:
        return await self.carts.checkout(user_id)  # the service draws the idempotency key

    async def close(self) -> None:
        await self.pool.close()


class AsyncRawPool:
    """psycopg_pool's AsyncConnectionPool of autocommit connections running shopdb's SQL: the
    floor."""

    name = "psycopg async pool"

    def __init__(self, url: str, pool_size: int) -> None:
        self.pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url, kwargs={"autocommit": True}, min_size=pool_size, max_size=pool_size, open=False
        )

    async def open(self) -> None:
        await self.pool.open(wait=True)

    async def get_product(self, product_id: int) -> Any:
        async with self.pool.connection() as conn:
            return await (await conn.execute(BY_ID, (product_id,))).fetchone()

    async def load_cart(self, user_id: int) -> Any:
        async with self.pool.connection() as conn:
            return await (await conn.execute(LOAD_FOR_USER, {"user_id": user_id})).fetchall()

    async def add_to_cart(self, user_id: int, product_id: int) -> Any:
        async with self.pool.connection() as conn, conn.transaction():
            locked = await (await conn.execute(LOCK_TO_ADD, {"user_id": user_id})).fetchone()
            if locked is None:
                raise NoOrder(f"user {user_id} has no cart")
            values = {"user_id": user_id, "cart_id": locked[0], "product_id": product_id}
            return await (await conn.execute(ADD_FOR_USER, {**values, "quantity": 1})).fetchone()

    async def checkout(self, user_id: int) -> Any:
        async with self.pool.connection() as conn:
            return await _checkout(conn, user_id)

    async def close(self) -> None:
        await self.pool.close()


async def _checkout(conn: psycopg.AsyncConnection[Any], user_id: int) -> Any:
    async with conn.transaction():
        locked = await (await conn.execute(LOCK_FOR_USER, {"user_id": user_id})).fetchone()
        values = {"user_id": user_id, "key": uuid.uuid4().hex, "cart_id": locked and locked[0]}
        row = await (await conn.execute(PLACE, values)).fetchone()
        if row is None or row[6] is None:
            raise NoOrder(f"user {user_id}: no order")
    return row


class Dollars:
    """A statement with psycopg's placeholders turned into asyncpg's: each `%(name)s` one `$n`
    wherever it appears, each `%s` the next; `args` orders the values as asyncpg takes them."""

    _PLACEHOLDER = re.compile(r"%\((\w+)\)s|%s|%%")

    def __init__(self, query: str) -> None:
        self.keys: list[str | int] = []
        positions = itertools.count()

        def number(match: re.Match[str]) -> str:
            if match[0] == "%%":
                return "%"
            key: str | int = match[1] if match[1] is not None else next(positions)
            if key not in self.keys:
                self.keys.append(key)
            return f"${self.keys.index(key) + 1}"

        self.text = self._PLACEHOLDER.sub(number, query)

    def args(self, values: Sequence[Any] | Mapping[str, Any]) -> list[Any]:
        return [values[key] for key in self.keys]  # type: ignore[index]


GET, LOAD, LOCK_ADD, ADD, LOCK_CART, ORDER = map(
    Dollars, (BY_ID, LOAD_FOR_USER, LOCK_TO_ADD, ADD_FOR_USER, LOCK_FOR_USER, PLACE)
)


class Asyncpg:
    """asyncpg's own pool running the same SQL with $n placeholders: the fastest Python
    driver, for reference (it prepares and caches every statement, and decodes in Cython)."""

    name = "asyncpg pool"

    def __init__(self, url: str, pool_size: int) -> None:
        self.url = url
        self.size = pool_size
        self.pool: Any = None  # an asyncpg.Pool once open

    async def open(self) -> None:
        self.pool = await asyncpg.create_pool(self.url, min_size=self.size, max_size=self.size)

    def _pool(self) -> Any:
        if self.pool is None:
            raise RuntimeError("asyncpg pool not open")
        return self.pool

    async def get_product(self, product_id: int) -> Any:
        return await self._pool().fetchrow(GET.text, *GET.args((product_id,)))

    async def load_cart(self, user_id: int) -> Any:
        return await self._pool().fetch(LOAD.text, *LOAD.args({"user_id": user_id}))

    async def add_to_cart(self, user_id: int, product_id: int) -> Any:
        async with self._pool().acquire() as conn, conn.transaction():
            locked = await conn.fetchrow(LOCK_ADD.text, *LOCK_ADD.args({"user_id": user_id}))
            if locked is None:
                raise NoOrder(f"user {user_id} has no cart")
            values = {"user_id": user_id, "cart_id": locked[0], "product_id": product_id}
            return await conn.fetchrow(ADD.text, *ADD.args({**values, "quantity": 1}))

    async def checkout(self, user_id: int) -> Any:
        async with self._pool().acquire() as conn, conn.transaction():
            locked = await conn.fetchrow(LOCK_CART.text, *LOCK_CART.args({"user_id": user_id}))
            values = {"user_id": user_id, "key": uuid.uuid4().hex, "cart_id": locked and locked[0]}
            row = await conn.fetchrow(ORDER.text, *ORDER.args(values))
            if row is None or row[6] is None:
                raise NoOrder(f"user {user_id}: no order")
        return row

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()
