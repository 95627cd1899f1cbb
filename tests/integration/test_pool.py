"""The pool hands out the connection given back last, and lets the others go idle and close."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from adapters.postgres import ShopdbPool, create_pool
from adapters.postgres import pool as pool_module
from adapters.postgres.dependency_internals import newest_first
from adapters.postgres.pool import give_back
from adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory
from shopdb.testdb import pool_config
from tests.threads import run_all


@pytest.fixture
def pools(database_url: str) -> Iterator[list[ConnectionPool[Any]]]:
    made: list[ConnectionPool[Any]] = []
    yield made
    for pool in made:
        pool.close()


def _pool(made: list[ConnectionPool[Any]], url: str, **options: Any) -> ConnectionPool[Any]:
    pool = create_pool(pool_config(conninfo=url, timeout=5.0, **options))
    pool.wait()
    made.append(pool)
    return pool


def _checkout(pool: ConnectionPool[Any], hold: float = 0.0) -> int:
    """Take a connection and give it back (after `hold` seconds); returns its backend's pid."""
    conn = pool.getconn()
    try:
        time.sleep(hold)
        return int(conn.info.backend_pid)
    finally:
        give_back(pool, conn)


@pytest.mark.parametrize(("lifo", "expected_order"), [(True, "ba"), (False, "ab")])
def test_the_connection_given_back_last_is_handed_out_first(
    database_url: str, pools: list[ConnectionPool[Any]], lifo: bool, expected_order: str
) -> None:
    pool = _pool(pools, database_url, min_size=2, max_size=2, lifo=lifo)
    a, b = pool.getconn(), pool.getconn()
    names = {id(a): "a", id(b): "b"}
    give_back(pool, a)
    give_back(pool, b)
    first = pool.getconn()
    second = pool.getconn()
    assert names[id(first)] + names[id(second)] == expected_order
    give_back(pool, first)
    give_back(pool, second)


def test_without_psycopg_pools_ordering_hook_a_lifo_pool_hands_out_in_turn(
    database_url: str, pools: list[ConnectionPool[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fallback dependency_internals chooses when psycopg_pool's `_get_ready_connection`
    is gone or changed: psycopg_pool's own order, and units of work run as before."""
    monkeypatch.setattr(pool_module, "LifoConnectionPool", newest_first(ShopdbPool, hook=False))
    pool = _pool(pools, database_url, min_size=2, max_size=2, lifo=True)
    assert type(pool) is ShopdbPool
    a, b = pool.getconn(), pool.getconn()
    names = {id(a): "a", id(b): "b"}
    give_back(pool, a)
    give_back(pool, b)
    first, second = pool.getconn(), pool.getconn()
    assert names[id(first)] + names[id(second)] == "ab"
    give_back(pool, first)
    give_back(pool, second)
    uow = PostgresUnitOfWorkFactory(pool)
    for _ in range(4):
        with uow(read_only=True) as work:
            assert work.products.get_many([1]) == {}
    assert len(Counter(_checkout(pool) for _ in range(20))) == 2


def test_sequential_checkouts_keep_to_one_backend(
    database_url: str, pools: list[ConnectionPool[Any]]
) -> None:
    pool = _pool(pools, database_url, min_size=4, max_size=4)
    used = Counter(_checkout(pool) for _ in range(200))
    print(f"\n200 sequential checkouts went to {len(used)} of 4 backends")
    assert len(used) == 1


def test_connections_the_load_does_not_need_are_closed_first(
    database_url: str, pools: list[ConnectionPool[Any]]
) -> None:
    """Three connections used once at the same time, then one at a time: the pool shrinks back
    to its minimum by closing the connections idle the longest, and keeps the one in use."""
    pool = _pool(pools, database_url, min_size=1, max_size=3, max_idle=0.5)
    held = [pool.getconn() for _ in range(3)]
    for conn in held:  # the last one given back is the one handed out from now on
        give_back(pool, conn)
    newest = held[-1].info.backend_pid
    deadline = time.monotonic() + 10
    while pool.get_stats()["pool_size"] > 1 and time.monotonic() < deadline:
        assert _checkout(pool) == newest
        time.sleep(0.01)
    stats = pool.get_stats()
    print(f"\npool shrank to {stats['pool_size']} in {time.monotonic() - deadline + 10:.1f} s")
    assert stats["pool_size"] == 1
    assert _checkout(pool) == newest


def test_under_load_every_connection_is_used(
    database_url: str, pools: list[ConnectionPool[Any]]
) -> None:
    pool = _pool(pools, database_url, min_size=4, max_size=4)
    used: Counter[int] = Counter()

    def worker() -> None:
        for _ in range(50):
            used[_checkout(pool, hold=0.002)] += 1  # held a while, as a unit of work does

    run_all([worker] * 4)
    print(f"\n4 threads used {len(used)} backends")
    assert len(used) == 4


class _CountingChecks(psycopg.Connection[Any]):
    """Counts the pool's liveness checks: psycopg_pool's `check_connection` runs an empty
    query, which nothing else sends."""

    checks = 0

    def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        if query == "":
            _CountingChecks.checks += 1
        return super().execute(query, *args, **kwargs)


@pytest.mark.parametrize(("held", "checked"), [(0.0, 0), (0.6, 1)])
def test_a_connection_is_checked_when_the_server_last_answered_on_it_long_ago(
    database_url: str, pools: list[ConnectionPool[Any]], held: float, checked: int
) -> None:
    """What counts for the liveness check is when the server last answered, not when the
    connection came back: a unit of work that held it silent for longer than
    `check_after_idle` gives back a connection the next one checks first."""
    pool = create_pool(
        pool_config(
            conninfo=database_url,
            timeout=5.0,
            min_size=1,
            max_size=1,
            check_after_idle=0.4,
            connection_class=_CountingChecks,
        )
    )
    pools.append(pool)
    uow = PostgresUnitOfWorkFactory(pool)
    with uow(read_only=True) as work:
        work.products.get_many([1])  # the server answers here
    with uow(read_only=True) as work:  # given back at once: no check on the way in
        work.products.get_many([1])
        time.sleep(held)  # then silent for `held` seconds before going back
    _CountingChecks.checks = 0
    with uow(read_only=True) as work:
        work.products.get_many([1])
    print(f"\nheld {held} s after the last answer: {_CountingChecks.checks} check(s)")
    assert _CountingChecks.checks == checked
