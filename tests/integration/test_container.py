"""The container on PostgreSQL: restarted many times in one process, as a test client does."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from dependency_injector import providers
from psycopg_pool import ConnectionPool

from domain.errors import ProductNotFound, StorageUnavailable
from domain.model import Product
from services import CatalogService
from shopdb.container import Container, open_pool
from shopdb.health import health
from shopdb.settings import Settings
from tests.threads import run_all


def test_restart_many_times(clean_database: str) -> None:
    container = Container(settings=Settings(DATABASE_URL=clean_database, pool_min_size=1))
    pools: list[ConnectionPool[Any]] = []
    products: list[Product] = []
    for _ in range(5):
        container.init_resources()
        pool = container.pool()
        assert pool is not None
        assert not pool.closed
        products.append(container.catalog().create_product(f"Lamp {len(pools)}", "9.99"))
        with container.unit_of_work()(read_only=True) as uow:
            assert [uow.products.get(p.id) for p in products] == products
        pools.append(pool)
        container.shutdown_resources()
        assert pool.closed
    assert len({id(pool) for pool in pools}) == len(pools)  # a new pool at each start


def test_services_taken_before_a_shutdown_refuse_work_after_it(clean_database: str) -> None:
    container = Container(settings=Settings(DATABASE_URL=clean_database, pool_min_size=1))
    used, unused = container.catalog(), container.catalog()
    lamp = used.create_product("Lamp", "9.99")
    pool = container.pool()
    container.shutdown_resources()
    for stale in (used, unused):
        with pytest.raises(StorageUnavailable, match="the container was shut down"):
            stale.get_product(lamp.id)
    assert pool is not None
    assert pool.closed
    assert container.catalog().get_product(lamp.id) == lamp  # a new start serves new services
    container.shutdown_resources()


def test_threads_starting_together_share_one_pool(clean_database: str) -> None:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible inside the first use
    opened: list[ConnectionPool[Any]] = []

    def counted(*args: Any) -> Iterator[ConnectionPool[Any] | None]:
        with contextmanager(open_pool)(*args) as pool:
            assert pool is not None
            opened.append(pool)
            yield pool

    try:
        for _ in range(5):
            container = Container(settings=Settings(DATABASE_URL=clean_database))
            container.pool.override(
                providers.Resource(counted, container.settings, container.pool_config.provider)
            )
            catalog = container.catalog()
            barrier = threading.Barrier(8)

            def first_use(catalog: CatalogService = catalog, barrier: Any = barrier) -> None:
                barrier.wait()
                with pytest.raises(ProductNotFound):
                    catalog.get_product(1)

            run_all([first_use] * 8)
            container.shutdown_resources()
    finally:
        sys.setswitchinterval(previous)
    assert len(opened) == 5  # one per container, whatever the threads did
    assert all(pool.closed for pool in opened)


def test_a_restart_without_init_resources_starts_on_first_use(clean_database: str) -> None:
    container = Container(settings=Settings(DATABASE_URL=clean_database, pool_min_size=1))
    made = []
    for name in ("Lamp", "Mug", "Vase"):
        made.append(container.catalog().create_product(name, "1.00"))
        container.shutdown_resources()
    assert [container.catalog().get_product(p.id) for p in made] == made
    container.shutdown_resources()


def test_health_borrows_from_the_pool(clean_database: str) -> None:
    container = Container(settings=Settings(DATABASE_URL=clean_database, pool_min_size=1))
    pool = container.pool()
    assert pool is not None
    pool.wait()
    before = pool.get_stats().get("connections_num", 0)
    for _ in range(20):
        state = health(pool=pool)
        assert state.migrated
        assert state == health(clean_database)  # the no-pool path reads the same
    assert pool.get_stats().get("connections_num", 0) == before  # no new connection
    container.shutdown_resources()
