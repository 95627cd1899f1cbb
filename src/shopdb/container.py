"""The composition root: the only place that wires adapters to services. Nothing is built
until a provider is called."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dependency_injector import containers, providers
from psycopg_pool import ConnectionPool

from adapters.hashing import Argon2PasswordHasher
from adapters.memory import MemoryDatabase, MemoryUnitOfWorkFactory
from adapters.postgres import PoolConfig, PostgresUnitOfWorkFactory, create_pool
from services import AccountService, CartService, CatalogService
from shopdb.settings import Settings


def database_url(settings: Settings) -> str:
    """DATABASE_URL, or the per-user embedded server, started on demand."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    from pathlib import Path

    from shopdb.embedded import embedded_url

    data_dir = Path(settings.embedded_data_dir) if settings.embedded_data_dir else None
    return embedded_url(data_dir)


def pool_config(settings: Settings, url: str) -> PoolConfig:
    return PoolConfig(
        conninfo=url,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        timeout=settings.pool_timeout,
        max_waiting=settings.pool_max_waiting,
        max_idle=settings.pool_max_idle,
        max_lifetime=settings.pool_max_lifetime,
        reconnect_timeout=settings.pool_reconnect_timeout,
        lifo=settings.pool_lifo,
        application_name=settings.application_name,
        statement_timeout_ms=settings.statement_timeout_ms,
        idle_in_transaction_timeout_ms=settings.idle_in_transaction_timeout_ms,
    )


def open_pool(config: PoolConfig) -> Iterator[ConnectionPool[Any]]:
    """The pool's lifecycle: opened on first use, closed at shutdown_resources()."""
    pool = create_pool(config)
    try:
        yield pool
    finally:
        pool.close()


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    database_url = providers.Singleton(database_url, settings)
    pool_config = providers.Singleton(pool_config, settings, database_url)
    pool = providers.Resource(open_pool, pool_config)

    memory_database = providers.Singleton(MemoryDatabase)
    unit_of_work = providers.Selector(
        settings.provided.backend,
        postgres=providers.Singleton(PostgresUnitOfWorkFactory, pool),
        memory=providers.Singleton(MemoryUnitOfWorkFactory, memory_database),
    )
    password_hasher = providers.Singleton(Argon2PasswordHasher)

    accounts = providers.Factory(AccountService, unit_of_work, password_hasher)
    catalog = providers.Factory(CatalogService, unit_of_work)
    carts = providers.Factory(CartService, unit_of_work)
