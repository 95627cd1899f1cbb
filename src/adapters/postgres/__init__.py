"""PostgreSQL adapter: hand-written SQL over psycopg 3 and a psycopg_pool connection pool."""

from adapters.postgres.pool import PoolConfig, ShopdbPool, create_pool
from adapters.postgres.unit_of_work import PostgresUnitOfWork, PostgresUnitOfWorkFactory

__all__ = [
    "PoolConfig",
    "PostgresUnitOfWork",
    "PostgresUnitOfWorkFactory",
    "ShopdbPool",
    "create_pool",
]
