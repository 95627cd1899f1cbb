"""A server restart, on a throwaway embedded PostgreSQL this test owns: an idle pool loses no
request; under load only the requests in flight fail, clearly, and none after recovery."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.postgres import PostgresUnitOfWorkFactory, create_pool
from domain.errors import DomainError, StorageUnavailable
from domain.model import NewProduct
from shopdb.embedded import EmbeddedServer, ensure_database, server_url, start_server
from shopdb.migrations import upgrade
from shopdb.testdb import pool_config
from shopdb.throwaway import throwaway_dir
from tests.threads import run_all

POOL_SIZE = 4


@pytest.fixture
def server() -> Iterator[tuple[EmbeddedServer, str]]:
    with throwaway_dir() as root:
        yield from _server(root)


def _server(root: Path) -> Iterator[tuple[EmbeddedServer, str]]:
    handle = start_server(root / "pgdata", delete_on_exit=True)
    ensure_database(server_url(handle), "shop")
    url = server_url(handle, "shop")
    upgrade(url)
    yield handle, url
    handle.cleanup()


def _restart(handle: EmbeddedServer) -> float:
    started = time.monotonic()
    handle.stop()
    handle.start()
    return time.monotonic() - started


def _setup(url: str) -> tuple[Any, PostgresUnitOfWorkFactory, int]:
    pool = create_pool(
        pool_config(conninfo=url, min_size=POOL_SIZE, max_size=POOL_SIZE, timeout=10)
    )
    pool.wait()
    uow = PostgresUnitOfWorkFactory(pool)
    with uow(autocommit=True) as work:
        product = work.products.add(
            NewProduct(name="Lamp", price=Decimal("1.00"), inventory_count=5)
        ).id
    return pool, uow, product


def test_an_idle_pool_loses_no_request(server: tuple[EmbeddedServer, str]) -> None:
    handle, url = server
    pool, uow, product = _setup(url)
    for _ in range(20):  # every connection used, then idle
        with uow(read_only=True) as work:
            work.products.get(product)
    took = _restart(handle)
    started = time.monotonic()
    failures = 0
    first_success: float | None = None
    for _ in range(50):
        try:
            with uow(read_only=True) as work:
                work.products.get(product)
            if first_success is None:
                first_success = time.monotonic() - started
        except StorageUnavailable:
            failures += 1
    pool.close()
    print(f"\nrestart ({took:.2f} s), idle pool: {failures} failed requests of 50,", end=" ")
    print(f"first success after {first_success:.3f} s")
    assert failures == 0
    assert first_success is not None  # the figure is printed above; no clock is asserted


def test_under_load_only_requests_in_flight_fail(server: tuple[EmbeddedServer, str]) -> None:
    handle, url = server
    pool, uow, product = _setup(url)
    restarted = threading.Event()
    recovered_at: list[float] = []
    failures: list[tuple[float, DomainError]] = []
    successes_after: list[int] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                with uow(read_only=True) as work:
                    work.products.get(product)
                if restarted.is_set():
                    successes_after.append(1)
            except DomainError as exc:
                failures.append((time.monotonic(), exc))

    def restarter() -> None:
        time.sleep(0.5)
        _restart(handle)
        restarted.set()
        recovered_at.append(time.monotonic())
        time.sleep(1.5)
        stop.set()

    run_all([reader] * 8 + [restarter])
    pool.close()
    late = [exc for at, exc in failures if at > recovered_at[0] + 1.0]
    print(f"\nrestart under 8 threads: {len(failures)} failed requests, all", end=" ")
    print(
        f"{sorted({type(e).__name__ for _, e in failures})}; {len(late)} after recovery;", end=" "
    )
    print(f"{len(successes_after)} successes after the restart")
    assert all(isinstance(exc, StorageUnavailable) for _, exc in failures)
    assert len(failures) <= POOL_SIZE
    assert late == []
    assert successes_after
