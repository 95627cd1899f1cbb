"""Large imports leave the planner's statistics fresh: the counts it plans with reflect the
rows just loaded, without waiting for autovacuum (turned off here, so only the import can
have counted them)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest

from adapters.postgres import PostgresUnitOfWorkFactory, create_pool
from adapters.postgres.products import ANALYZE_MIN_ROWS
from domain.model import NewProduct
from services import CatalogService
from shopdb.migrations import upgrade
from tests.harness import pool_config, scratch_database


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


def test_a_large_import_leaves_the_planner_counting_its_rows(url: str) -> None:
    pool = create_pool(pool_config(conninfo=url, min_size=1, max_size=1))
    try:
        catalog = CatalogService(PostgresUnitOfWorkFactory(pool))
        catalog.import_products(_rows(ANALYZE_MIN_ROWS - 1, "few"))
        few = _counted(url)
        catalog.import_products(_rows(20_000, "many"))
        many = _counted(url)
        catalog.import_products(_rows(1_500, "tenth"))  # less than a tenth more: left alone
        small_share = _counted(url)
        catalog.import_products(_rows(5_000, "quarter"))
        large_share = _counted(url)
    finally:
        pool.close()
    print(
        f"\nplanner's count of products after imports of 999, 20,000, 1,500, 5,000 rows:"
        f" {few[0]:.0f}, {many[0]:.0f}, {small_share[0]:.0f}, {large_share[0]:.0f}"
    )
    assert few[0] <= 0  # a small import leaves it to autovacuum (off here)
    assert many[0] == ANALYZE_MIN_ROWS - 1 + 20_000
    assert many[1] >= 5  # columns with statistics: name, price, inventory, ...
    assert small_share[0] == many[0]
    assert large_share[0] == ANALYZE_MIN_ROWS - 1 + 20_000 + 1_500 + 5_000
