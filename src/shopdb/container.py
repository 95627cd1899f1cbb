"""The composition root: the only place that wires adapters to services. Nothing is built
until a provider is called."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from dependency_injector import containers, providers

from adapters.hashing import Argon2PasswordHasher, InsecureTestHasher
from adapters.memory import MemoryDatabase, MemoryUnitOfWorkFactory
from adapters.postgres import PoolConfig, PostgresUnitOfWorkFactory, ShopdbPool, create_pool
from adapters.telemetry import Telemetry
from domain.errors import StorageUnavailable
from ports.hashing import PasswordHasher
from ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from services import AccountService, CartService, CatalogService, OrderService
from shopdb.database import database_url
from shopdb.settings import Backend, InsecureHasherRefused, Pooler, Settings

__all__ = ["Container", "database_url", "pool_config"]


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
        connect_timeout=settings.connect_timeout,
        deadline_margin=settings.deadline_margin_ms / 1000,
        transaction_pooler=settings.pooler is Pooler.TRANSACTION,
    )


def telemetry(settings: Settings) -> Telemetry:
    """Logging always; spans and metrics too with SHOPDB_OPENTELEMETRY=true."""
    if settings.opentelemetry:
        return Telemetry.with_opentelemetry(slow_statement_ms=settings.slow_statement_ms)
    return Telemetry(slow_statement_ms=settings.slow_statement_ms)


def open_pool(
    settings: Settings,
    config: Callable[[], PoolConfig],
    telemetry: Callable[[], Telemetry] | None = None,
) -> Iterator[ShopdbPool | None]:
    """A new pool at each start (a closed pool cannot reopen), closed at shutdown_resources().
    The memory backend has none: its start connects nowhere and boots no server."""
    if settings.backend is Backend.MEMORY:
        yield None
        return
    pool = create_pool(config())
    if telemetry is not None:  # the pool gauges read it while it is open
        telemetry().watch_pool(pool)
    try:
        yield pool
    finally:
        pool.close()


class PoolOnFirstUse:
    """Units of work over the container's pool, asked for by the first of them: building the
    factory, or a service that holds it, connects nowhere and cannot fail. After close() (the
    container's shutdown_resources()) it refuses work rather than reopen a pool nobody closes.
    The indirection costs ~0.2 µs a unit of work (a unit of work on PostgreSQL: 45-70 µs)."""

    def __init__(self, pool: Callable[[], ShopdbPool | None], telemetry: Telemetry) -> None:
        self._pool = pool
        self._telemetry = telemetry
        self._units: PostgresUnitOfWorkFactory | None = None
        self._closed = False
        self._lock = threading.Lock()  # one pool, however many threads start at once

    def __call__(self, *, read_only: bool = False, autocommit: bool = False) -> UnitOfWork:
        units = self._units
        if units is None:
            units = self._first_use()
        return units(read_only=read_only, autocommit=autocommit)

    def _first_use(self) -> PostgresUnitOfWorkFactory:
        with self._lock:
            if self._closed:
                raise StorageUnavailable(
                    "the container was shut down: take services again after init_resources()"
                )
            if self._units is None:
                pool = self._pool()
                assert pool is not None, "the postgres backend always has a pool"
                self._units = PostgresUnitOfWorkFactory(pool, self._telemetry)
            return self._units

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._units = None


class Stoppable:
    """The memory backend's units of work, refused after shutdown_resources() as the
    PostgreSQL backend's are: a test client that keeps a stale service fails on the fakes too."""

    def __init__(self, units: UnitOfWorkFactory) -> None:
        self._units: UnitOfWorkFactory | None = units

    def __call__(self, *, read_only: bool = False, autocommit: bool = False) -> UnitOfWork:
        units = self._units
        if units is None:
            raise StorageUnavailable(
                "the container was shut down: take services again after init_resources()"
            )
        return units(read_only=read_only, autocommit=autocommit)

    def close(self) -> None:
        self._units = None


def units_of_work(
    settings: Settings,
    pool: Callable[[], ShopdbPool | None],
    memory: Callable[[], MemoryDatabase],
    telemetry: Callable[[], Telemetry],
) -> Iterator[UnitOfWorkFactory]:
    """Made anew at each start, so none outlives the pool it was given; services taken before
    a shutdown_resources() refuse work after it (the pool is closed)."""
    if settings.backend is Backend.MEMORY:
        stopping = Stoppable(MemoryUnitOfWorkFactory(memory()))
        try:
            yield stopping
        finally:
            stopping.close()
    else:
        units = PoolOnFirstUse(pool, telemetry())
        try:
            yield units
        finally:
            units.close()


def permitted_hasher(settings: Settings, hasher: PasswordHasher) -> PasswordHasher:
    """`hasher`, unless it is the test-only one and the settings are not TestSettings: an
    override left in application code, or a test helper imported by it, fails at the first
    service instead of storing weak hashes."""
    if isinstance(hasher, InsecureTestHasher) and not settings.testing:
        raise InsecureHasherRefused(
            "InsecureTestHasher is for tests only and these are production settings: build"
            " the test's container with shopdb.testing.TestSettings"
        )
    return hasher


class Container(containers.DeclarativeContainer):
    """Every provider is typed: `container.carts()` is a CartService, `container.unit_of_work()`
    a UnitOfWorkFactory. `init_resources()` / `shutdown_resources()` may alternate any number
    of times; each start opens a new pool."""

    settings = providers.Dependency(instance_of=Settings)

    database_url = providers.Singleton(database_url, settings)
    pool_config = providers.Singleton(pool_config, settings, database_url)
    # One per container, not per start: OpenTelemetry keeps the first instruments of a name.
    telemetry = providers.Singleton(telemetry, settings)
    # Annotated: the stubs infer no type from a generator function.
    pool: providers.Resource[ShopdbPool | None] = providers.Resource(
        open_pool, settings, pool_config.provider, telemetry.provider
    )

    # The fake's data outlives restarts, as a database's would.
    memory_database = providers.Singleton(MemoryDatabase)
    unit_of_work: providers.Resource[UnitOfWorkFactory] = providers.Resource(
        units_of_work, settings, pool.provider, memory_database.provider, telemetry.provider
    )
    # What tests override; services take it through the check below, which no override of
    # password_hasher replaces.
    password_hasher: providers.Provider[PasswordHasher] = providers.Singleton(Argon2PasswordHasher)
    permitted_password_hasher = providers.Callable(permitted_hasher, settings, password_hasher)

    accounts = providers.Factory(AccountService, unit_of_work, permitted_password_hasher, telemetry)
    catalog = providers.Factory(CatalogService, unit_of_work, telemetry)
    carts = providers.Factory(CartService, unit_of_work, telemetry)
    orders = providers.Factory(OrderService, unit_of_work, telemetry)
