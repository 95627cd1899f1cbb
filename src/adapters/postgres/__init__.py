"""PostgreSQL adapter: hand-written SQL over psycopg 3 and a psycopg_pool connection pool, for
threads (`create_pool`) and for asyncio (`create_pool_async`)."""

from adapters.postgres.async_pool import AsyncShopdbPool, create_pool_async, open_pool_async
from adapters.postgres.pool import PoolConfig, ShopdbPool, create_pool
from adapters.postgres.unit_of_work import PostgresUnitOfWork, PostgresUnitOfWorkFactory
from adapters.postgres.unit_of_work_async import (
    AsyncPostgresUnitOfWork,
    AsyncPostgresUnitOfWorkFactory,
)

__all__ = [
    "AsyncPostgresUnitOfWork",
    "AsyncPostgresUnitOfWorkFactory",
    "AsyncShopdbPool",
    "PoolConfig",
    "PostgresUnitOfWork",
    "PostgresUnitOfWorkFactory",
    "ShopdbPool",
    "create_pool",
    "create_pool_async",
    "open_pool_async",
]
