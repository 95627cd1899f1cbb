"""The composition root: the only place that wires adapters to services. Nothing is built
until a provider is called."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, replace

import psycopg
from dependency_injector import containers, providers
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import PoolTimeout

from adapters.hashing import Argon2PasswordHasher, InsecureTestHasher
from adapters.memory import MemoryDatabase, MemoryUnitOfWorkFactory
from adapters.memory.unit_of_work_async import AsyncMemoryUnitOfWorkFactory
from adapters.postgres import PoolConfig, PostgresUnitOfWorkFactory, ShopdbPool, create_pool
from adapters.postgres.async_pool import AsyncShopdbPool, create_pool_async
from adapters.postgres.replicas import Replica, ReplicaPolicy, Router
from adapters.postgres.replicas_async import AsyncReplica, AsyncRouter
from adapters.postgres.replicas_async import ReplicaPolicy as AsyncReplicaPolicy
from adapters.postgres.unit_of_work_async import AsyncPostgresUnitOfWorkFactory
from adapters.telemetry import Telemetry
from domain.errors import StorageUnavailable
from ports.hashing import PasswordHasher
from ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from ports.unit_of_work_async import AsyncUnitOfWork, AsyncUnitOfWorkFactory
from services import AccountService, CartService, CatalogService, OrderService
from services.accounts_async import AsyncAccountService
from services.carts_async import AsyncCartService
from services.catalog_async import AsyncCatalogService
from services.offload import HASHING_THREADS, Offload
from services.orders_async import AsyncOrderService
from shopdb.database import database_url
from shopdb.settings import (
    Backend,
    InsecureHasherRefused,
    Pooler,
    Settings,
    redact_url,
    url_secrets,
)

__all__ = ["AsyncUnits", "Container", "close_async", "database_url", "pool_config"]


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
        connect_retry=settings.failover_connect_retry_ms / 1000 if _hosts(url) > 1 else 0.0,
    )


def _hosts(url: str) -> int:
    """How many hosts a URL names (libpq's multi-host form: h1:5432,h2:5432)."""
    try:
        return len(str(conninfo_to_dict(url).get("host") or "").split(","))
    except psycopg.Error:
        return 1


def replica_configs(settings: Settings, primary: PoolConfig) -> list[PoolConfig]:
    """One pool per replica, as the primary's but named for it, with a liveness check that
    gives up within the replica deadline (a frozen replica is skipped, not waited on)."""
    deadline = settings.replica_deadline_ms / 1000
    return [
        replace(
            primary,
            conninfo=url,
            name=f"shopdb-replica-{n}",
            check_timeout=deadline,
            connect_retry=0.0,  # a replica that does not answer is skipped, not waited for
        )
        for n, url in enumerate(settings.replicas(), 1)
    ]


def replica_policy(settings: Settings) -> ReplicaPolicy:
    return ReplicaPolicy(
        max_lag=settings.replica_max_lag_ms / 1000,
        wait=settings.replica_wait_ms / 1000,
        deadline=settings.replica_deadline_ms / 1000,
        retry_after=settings.replica_retry_ms / 1000,
        read_your_writes=settings.read_your_writes,
    )


def open_replicas(
    settings: Settings,
    configs: Callable[[], list[PoolConfig]],
    telemetry: Callable[[], Telemetry] | None = None,
) -> Iterator[list[ShopdbPool]]:
    """The replicas' pools, opened at each start and closed at shutdown_resources(); none with
    the memory backend or without SHOPDB_REPLICA_URLS."""
    if settings.backend is Backend.MEMORY or not settings.replicas():
        yield []
        return
    pools = [create_pool(config) for config in configs()]
    if telemetry is not None:  # gauges per pool, by its name (shopdb-replica-1, ...)
        for pool in pools:
            telemetry().watch_pool(pool)
    try:
        yield pools
    finally:
        # A frozen replica's connection attempts end at the connect timeout: closing does not
        # wait for them longer than a replica may take to answer.
        for pool in pools:
            pool.close(timeout=settings.replica_deadline_ms / 1000)


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
    if settings.connect_on_start:
        _connected_or_closed(pool, settings)
    if telemetry is not None:  # the pool gauges read it while it is open
        telemetry().watch_pool(pool)
    try:
        yield pool
    finally:
        pool.close()


def _connected_or_closed(pool: ShopdbPool, settings: Settings) -> None:
    """Wait up to SHOPDB_POOL_TIMEOUT for one connection (SHOPDB_CONNECT_ON_START); without
    one, close the pool and raise StorageUnavailable naming the server, never the password."""
    try:
        with pool.connection(timeout=settings.pool_timeout):
            return
    except (PoolTimeout, psycopg.Error) as exc:
        reason = pool.last_connect_error or " ".join(str(exc).split()) or type(exc).__name__
    pool.close(timeout=1.0)
    url = pool.conninfo if isinstance(pool.conninfo, str) else ""
    for secret in url_secrets(url):
        reason = reason.replace(secret, "***")  # as written in the URL, and as libpq reads it
    raise StorageUnavailable(
        f"cannot connect to {redact_url(url)} within {settings.pool_timeout:g} s"
        f" (SHOPDB_CONNECT_ON_START): {reason}"
    ) from None


class PoolOnFirstUse:
    """Units of work over the container's pool, asked for by the first of them: building the
    factory, or a service that holds it, connects nowhere and cannot fail. After close() (the
    container's shutdown_resources()) it refuses work rather than reopen a pool nobody closes."""

    def __init__(
        self,
        pool: Callable[[], ShopdbPool | None],
        telemetry: Telemetry,
        replicas: Callable[[], list[ShopdbPool]] | None = None,
        policy: ReplicaPolicy | None = None,
    ) -> None:
        self._pool = pool
        self._replicas = replicas
        self._policy = policy
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
                replicas = self._replicas() if self._replicas is not None else []
                router = None
                if replicas:
                    router = Router(
                        pool,
                        [Replica(replica.name, replica) for replica in replicas],
                        self._policy,
                    )
                self._units = PostgresUnitOfWorkFactory(pool, self._telemetry, router)
            return self._units

    def router(self) -> Router | None:
        """The router over the replicas (its counts, its view of each replica); None without
        replicas, or before the first unit of work."""
        units = self._units
        return None if units is None else units.router

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
    replicas: Callable[[], list[ShopdbPool]] | None = None,
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
        units = PoolOnFirstUse(pool, telemetry(), replicas, replica_policy(settings))
        try:
            yield units
        finally:
            units.close()


class AsyncUnits:
    """The async side's units of work, beside the sync side's in one container, from the same
    settings: over the same in-memory database with the memory backend, else over an async
    pool of their own, opened by the first unit of work in the event loop that runs it (the
    loop need not run where the container is made); with SHOPDB_REPLICA_URLS, read-only ones
    go through a router over async pools of the replicas, each opened by its first use too.
    `await close_async(container)` closes them at the application's shutdown; units of work
    asked for after that are refused."""

    def __init__(
        self,
        settings: Settings,
        config: Callable[[], PoolConfig],
        memory: Callable[[], MemoryDatabase],
        telemetry: Telemetry,
        replicas: Callable[[], list[PoolConfig]] | None = None,
    ) -> None:
        self.pool: AsyncShopdbPool | None = None
        self.replica_pools: list[AsyncShopdbPool] = []
        self._units: AsyncUnitOfWorkFactory | None
        # As the sync side's: a frozen replica's connection attempts do not hold up closing.
        self._replica_close = settings.replica_deadline_ms / 1000
        if settings.backend is Backend.MEMORY:
            self._units = AsyncMemoryUnitOfWorkFactory(memory())
            return
        # Named apart from the sync side's pools: their gauges and logs are told apart.
        primary = config()
        self.pool = create_pool_async(replace(primary, name=f"{primary.name}-async"))
        self.pool.open_on_first_use = True
        telemetry.watch_pool(self.pool)
        router = None
        if replicas is not None and settings.replicas():
            self.replica_pools = [
                create_pool_async(replace(replica, name=f"{replica.name}-async"))
                for replica in replicas()
            ]
            for pool in self.replica_pools:
                pool.open_on_first_use = True
                telemetry.watch_pool(pool)
            router = AsyncRouter(
                self.pool,
                # By the names the sync side gives them: the router's counts read the same.
                [
                    AsyncReplica(pool.name.removesuffix("-async"), pool)
                    for pool in self.replica_pools
                ],
                # The async module's class of the policy, with the sync side's values.
                AsyncReplicaPolicy(**asdict(replica_policy(settings))),
            )
        self._units = AsyncPostgresUnitOfWorkFactory(self.pool, telemetry, router)

    def __call__(self, *, read_only: bool = False, autocommit: bool = False) -> AsyncUnitOfWork:
        units = self._units
        if units is None:
            raise StorageUnavailable(
                "the container's async side was closed: take services again after close_async()"
            )
        return units(read_only=read_only, autocommit=autocommit)

    def router(self) -> AsyncRouter | None:
        """The router over the replicas (its counts, its view of each replica); None without
        replicas, with the memory backend, or once closed."""
        units = self._units
        return units.router if isinstance(units, AsyncPostgresUnitOfWorkFactory) else None

    async def aclose(self) -> None:
        self._units = None
        pool, self.pool = self.pool, None
        replicas, self.replica_pools = self.replica_pools, []
        try:
            if pool is not None:
                await pool.close()
        finally:  # cancelled or failed, the replicas' pools are closed still
            for replica in replicas:
                await replica.close(timeout=self._replica_close)


async def close_async(container: Container) -> None:
    """Close the async side's pool, if one was made, and stop its hashing threads; the next
    async service gets new ones."""
    units = container.async_unit_of_work()
    container.async_unit_of_work.reset()
    container.hashing().shutdown()
    container.hashing.reset()
    await units.aclose()


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

    replica_configs = providers.Singleton(replica_configs, settings, pool_config)
    replica_pools: providers.Resource[list[ShopdbPool]] = providers.Resource(
        open_replicas, settings, replica_configs.provider, telemetry.provider
    )

    # The fake's data outlives restarts, as a database's would.
    memory_database = providers.Singleton(MemoryDatabase)
    unit_of_work: providers.Resource[UnitOfWorkFactory] = providers.Resource(
        units_of_work,
        settings,
        pool.provider,
        memory_database.provider,
        telemetry.provider,
        replica_pools.provider,
    )
    # What tests override; services take it through the check below, which no override of
    # password_hasher replaces.
    password_hasher: providers.Provider[PasswordHasher] = providers.Singleton(Argon2PasswordHasher)
    permitted_password_hasher = providers.Callable(permitted_hasher, settings, password_hasher)

    accounts = providers.Factory(AccountService, unit_of_work, permitted_password_hasher, telemetry)
    catalog = providers.Factory(CatalogService, unit_of_work, telemetry)
    carts = providers.Factory(CartService, unit_of_work, telemetry)
    orders = providers.Factory(OrderService, unit_of_work, telemetry)

    # The async side: the same settings, services and rules, for asyncio applications.
    async_unit_of_work = providers.Singleton(
        AsyncUnits,
        settings,
        pool_config.provider,
        memory_database.provider,
        telemetry,
        replica_configs.provider,
    )
    # One pool of hashing threads for every async account service taken from the container:
    # its bound holds however an application takes them (once, or per request).
    hashing = providers.Singleton(Offload, threads=HASHING_THREADS, name="password-hashing")
    async_accounts = providers.Factory(
        AsyncAccountService,
        async_unit_of_work,
        permitted_password_hasher,
        telemetry,
        hashing=hashing,
    )
    async_catalog = providers.Factory(AsyncCatalogService, async_unit_of_work, telemetry)
    async_carts = providers.Factory(AsyncCartService, async_unit_of_work, telemetry)
    async_orders = providers.Factory(AsyncOrderService, async_unit_of_work, telemetry)
