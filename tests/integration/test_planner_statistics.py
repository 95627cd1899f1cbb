"""Large imports, and the seed's refresh, leave the planner's statistics fresh: the counts it
plans with reflect the rows just loaded, without waiting for autovacuum (turned off here, so
only what is under test can have counted them)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest
from psycopg import sql

from adapters.postgres import PostgresUnitOfWorkFactory, ShopdbPool, create_pool
from adapters.postgres import products as postgres_products
from adapters.postgres.products import ANALYZE_MIN_ROWS
from adapters.schema import TABLES
from domain.model import NewProduct
from services import CatalogService
from shopdb import statistics
from shopdb.migrations import upgrade
from shopdb.testdb import pool_config, scratch_database


@pytest.fixture
def url(admin_url: str) -> Iterator[str]:
    with scratch_database(admin_url, prefix="shopdb_stats") as scratch:
        upgrade(scratch)
        with psycopg.connect(scratch, autocommit=True) as conn:
            conn.execute("ALTER TABLE products SET (autovacuum_enabled = false)")
        yield scratch


def _counted(url: str) -> tuple[float, int]:
    """The planner's row count of products, and how many of its columns have statistics."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT reltuples FROM pg_class WHERE oid = 'products'::regclass),"
            " (SELECT count(*) FROM pg_stats WHERE schemaname = 'public'"
            " AND tablename = 'products')"
        ).fetchone()
    assert row is not None
    return float(row[0]), int(row[1])


def _rows(count: int, tag: str) -> Iterator[NewProduct]:
    return (
        NewProduct(name=f"{tag} lamp {n}", price=Decimal("1.00"), inventory_count=n % 50)
        for n in range(count)
    )


def _catalog(url: str) -> tuple[CatalogService, ShopdbPool]:
    pool = create_pool(pool_config(conninfo=url, min_size=1, max_size=1))
    return CatalogService(PostgresUnitOfWorkFactory(pool)), pool


def test_a_large_import_leaves_the_planner_counting_its_rows(url: str) -> None:
    catalog, pool = _catalog(url)
    try:
        catalog.import_products(_rows(ANALYZE_MIN_ROWS - 1, "few"))
        few = _counted(url)
        catalog.import_products(_rows(ANALYZE_MIN_ROWS, "many"))
        many = _counted(url)
    finally:
        pool.close()
    print(
        f"\nplanner's count of products after imports of {ANALYZE_MIN_ROWS - 1:,} and"
        f" {ANALYZE_MIN_ROWS:,} rows: {few[0]:.0f}, {many[0]:.0f} ({many[1]} columns)"
    )
    assert few[0] <= 0  # a smaller import leaves it to autovacuum (off here)
    assert many[0] == 2 * ANALYZE_MIN_ROWS - 1
    assert many[1] >= 5  # columns with statistics: name, price, inventory, ...


def test_an_import_of_less_than_a_tenth_of_the_table_leaves_it_to_autovacuum(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_products, "ANALYZE_MIN_ROWS", 1_000)
    catalog, pool = _catalog(url)
    try:
        catalog.import_products(_rows(20_000, "many"))
        many = _counted(url)
        catalog.import_products(_rows(1_500, "tenth"))  # less than a tenth more: left alone
        small_share = _counted(url)
        catalog.import_products(_rows(5_000, "quarter"))
        large_share = _counted(url)
    finally:
        pool.close()
    print(
        "\nplanner's count of products after imports of 20,000, 1,500, 5,000 rows:"
        f" {many[0]:.0f}, {small_share[0]:.0f}, {large_share[0]:.0f}"
    )
    assert many[0] == 20_000
    assert small_share[0] == many[0]
    assert large_share[0] == 20_000 + 1_500 + 5_000


def test_a_vacuum_past_statement_timeout_still_leaves_the_table_analyzed(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A VACUUM of a huge table may outlast statement_timeout: a statement that sleeps past
    it stands in for one. The table then gets the ANALYZE alone, and the caller hears which."""
    catalog, pool = _catalog(url)
    try:
        catalog.import_products(_rows(500, "seeded"))  # small: the import leaves it alone
    finally:
        pool.close()
    assert _counted(url)[0] <= 0
    monkeypatch.setattr(statistics, "VACUUM", sql.SQL("SELECT pg_sleep(1), count(*) FROM {}"))
    analyzed_only = statistics.refresh_statistics(url, statement_timeout_ms=200, connect_timeout=5)
    assert analyzed_only == list(TABLES)
    assert _counted(url)[0] == 500
