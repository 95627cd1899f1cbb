"""The bulk import at sizes and durations that a single statement could not survive."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg import sql

from adapters.postgres import PostgresUnitOfWorkFactory, create_pool
from adapters.postgres import products as postgres_products
from domain.model import NewProduct
from services import CatalogService
from shopdb.testdb import pool_config
from tests.integration.test_bench import bulk

STATEMENT_TIMEOUT_MS = 400


def _slow_rows(count: int, pause: float) -> Iterator[dict[str, Any]]:
    for n in range(count):
        time.sleep(pause)
        yield {"name": f"Slow {n}", "price": "1.00"}


def _stored(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM products").fetchone()
    assert row is not None
    return int(row[0])


def test_an_import_may_outlast_statement_timeout(
    clean_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten rows a batch at 20 ms a row: each COPY takes ~200 ms, the import ~1.2 s, against a
    statement_timeout of 400 ms. One COPY for everything would be cancelled."""
    monkeypatch.setattr(postgres_products, "COPY_BATCH_ROWS", 10)
    pool = create_pool(
        pool_config(conninfo=clean_database, min_size=1, statement_timeout_ms=STATEMENT_TIMEOUT_MS)
    )
    try:
        catalog = CatalogService(PostgresUnitOfWorkFactory(pool))
        started = time.monotonic()
        assert catalog.import_products(_slow_rows(60, 0.02)) == 60
        print(f"import took {time.monotonic() - started:.2f} s, limit a statement 0.4 s")
    finally:
        pool.close()
    assert _stored(clean_database) == 60


def test_a_failed_import_leaves_the_connection_usable(clean_database: str) -> None:
    """The pool hands the same connection out again after a failed import; it must be out of
    the aborted transaction and take the next import whole."""
    pool = create_pool(pool_config(conninfo=clean_database, min_size=1, max_size=1))
    try:
        catalog = CatalogService(PostgresUnitOfWorkFactory(pool))

        def failing() -> Iterator[NewProduct]:
            yield NewProduct(name="First", price=Decimal("1.00"))
            raise RuntimeError("the source went away")

        for _ in range(3):
            with pytest.raises(RuntimeError):
                catalog.import_products(failing())
        assert catalog.import_products([NewProduct(name="Kept", price=Decimal("1.00"))]) == 1
    finally:
        pool.close()
    assert _stored(clean_database) == 1


def test_import_memory_does_not_grow_with_the_row_count(admin_url: str) -> None:
    """Peak RSS of a process importing 20,000 and then 200,000 rows: held in a list, 180,000
    more rows would take ~150 MB (1.67 GB for 2,000,000 was measured that way)."""
    peaks = {}
    for count in (20_000, 200_000):
        database = f"shopdb_bulk_rss_{uuid.uuid4().hex[:8]}"
        try:
            rows = bulk(admin_url, database, "--rows", str(count), "--only", "shopdb")
        finally:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                conn.execute(drop.format(sql.Identifier(database)))
        peaks[count] = int(rows["shopdb import_products"]["rss"])
    print(f"peak RSS: {peaks} MB")
    assert peaks[200_000] - peaks[20_000] < 30
