"""Reads on a streaming replica: read-your-writes by WAL position, and reads going on while the
replica is stopped, frozen or lagging. Needs the primary and replica of .ci/replicas (run there;
left out of every other run)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from adapters.postgres.replicas import Router
from shopdb.container import Container, PoolOnFirstUse
from shopdb.migrations import upgrade
from shopdb.settings import Settings
from tests.harness import scratch_database, truncate_all, with_database

pytestmark = pytest.mark.replicas

PAIRS = int(os.environ.get("SHOPDB_TEST_REPLICA_PAIRS", "10000"))


def _env(name: str) -> str:
    value = os.environ.get(name)
    assert value, f"{name} is set by .ci/replicas"
    return value


@pytest.fixture(scope="module")
def topology() -> Iterator[tuple[str, str]]:
    """A migrated database on the primary, and its URL on the replica once it has it there."""
    with scratch_database(_env("SHOPDB_TEST_PRIMARY_URL"), "shopdb_replicas") as primary:
        upgrade(primary)
        name = psycopg.conninfo.conninfo_to_dict(primary)["dbname"]
        replica = with_database(_env("SHOPDB_TEST_REPLICA_URL"), str(name))
        for _ in range(200):
            try:
                with psycopg.connect(replica, autocommit=True) as conn:
                    conn.execute("SELECT 1 FROM alembic_version")
                break
            except psycopg.Error:
                time.sleep(0.05)
        yield primary, replica


@pytest.fixture
def shop(topology: tuple[str, str]) -> Iterator[Callable[..., Container]]:
    """Containers over the primary and the replica; each is shut down after the test."""
    primary, replica = topology
    with psycopg.connect(primary, autocommit=True) as conn:
        truncate_all(conn)
    made: list[Container] = []

    def make(**settings: Any) -> Container:
        container = Container(
            settings=Settings(
                DATABASE_URL=primary,
                replica_urls=replica,
                pool_min_size=1,
                **settings,
            )
        )
        container.init_resources()
        made.append(container)
        return container

    yield make
    for container in made:
        container.shutdown_resources()


def router(container: Container) -> Router:
    units = container.unit_of_work()
    assert isinstance(units, PoolOnFirstUse)
    found = units.router()
    assert found is not None
    return found


def pairs(container: Container, count: int, tag: str) -> int:
    """`count` write-then-read pairs through the services, alternately add to cart then view
    the cart, and checkout then the order history; returns how many reads missed the write."""
    catalog, carts, orders = container.catalog(), container.carts(), container.orders()
    users = [
        container.accounts().register(f"{tag}{n}", f"{tag}{n}@example.com", "pw-long-enough-1")
        for n in range(8)
    ]
    lamp = catalog.create_product("Lamp", "1.00", inventory_count=10 * count)
    router(container).reset_stats()
    stale = 0
    for n in range(count // 2):
        user = users[n % len(users)].id
        added = carts.add_to_cart(user, lamp.id, 1)
        cart = carts.view_cart(user)
        line = next((item for item in cart.items if item.id == added.id), None) if cart else None
        if line is None or line.quantity != added.quantity:
            stale += 1
        order = carts.checkout(user, f"{tag}-{n}")
        history = orders.order_history(user, limit=1)
        if not history.items or history.items[0].id != order.id:
            stale += 1
    return stale


def test_read_your_writes_never_reads_stale_and_without_it_reads_do(
    shop: Callable[..., Container],
) -> None:
    guarded = shop()
    began = time.perf_counter()
    missed = pairs(guarded, PAIRS, "on")
    took = time.perf_counter() - began
    served = router(guarded).stats()
    print(f"\nread-your-writes on: {PAIRS} pairs in {took:.1f} s, {missed} stale, by {served}")
    assert missed == 0
    assert served["primary"] + sum(v for k, v in served.items() if k != "primary") == PAIRS
    guarded.shutdown_resources()

    unguarded = shop(read_your_writes=False)
    began = time.perf_counter()
    missed_off = pairs(unguarded, PAIRS, "off")
    took = time.perf_counter() - began
    served = router(unguarded).stats()
    print(f"read-your-writes off: {PAIRS} pairs in {took:.1f} s, {missed_off} stale, by {served}")
    assert missed_off > 0
