"""The search never reads the whole catalog for the term mix: at 200,000 products, no plan
step that runs scans `products` sequentially, nor walks a quarter of it through an index
(EXPLAIN ANALYZE, FORMAT JSON)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from adapters.postgres.products import search_sql
from domain.search import ProductQuery, ProductSort, encode_cursor
from shopdb.migrations import upgrade
from tests.harness import scratch_database

PRODUCTS = 200_000  # at 10,000 a scan costs about as much as the index; here ~100 ms
WORDS = ["oak", "steel", "linen", "walnut", "copper", "velvet", "glass", "bamboo", "wool"]
WORDS += ["desk", "lamp", "chair", "rug", "shelf", "mug", "vase", "stool", "clock", "pillow"]
# Common (a word: ~10% of names), three characters, two words (~0.25%), numbers (one name or
# a few), absent, and beyond ASCII. Terms without three ASCII letters or digits in a row have
# no trigram to look up; the common ones among them are here (a page is found at once).
TERMS = ["lamp", "OAK", "Chair", "rug", "amp", "ool", "k d", "a", "oa", "e"]
TERMS += ["oak rug", "lamp desk", "steel mug", "12345", "99999", "100000", "lamp rug 42"]
TERMS += ["zebra", "sofa", "qqq", "xylophone", "lamp_", "café", "straße", "İstanbul"]
# Rare or absent and without a trigram: no index finds these names, so they are read.
WITHOUT_AN_INDEX = ["50%", "ÖL", "a\\b"]


@pytest.fixture(scope="module")
def catalog(admin_url: str) -> Iterator[str]:
    with scratch_database(admin_url, prefix="shopdb_plans") as url:
        upgrade(url)
        rng = random.Random(20261123)
        with psycopg.connect(url) as conn, conn.cursor() as cur:
            copy_sql = "COPY products (name, description, price, inventory_count) FROM STDIN"
            with cur.copy(copy_sql) as copy:
                for n in range(PRODUCTS):
                    name = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {n}"
                    copy.write_row((name, None, Decimal(rng.randrange(99, 99_999)) / 100, 5))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE) products")
        yield url


def scans_of_products(plan: dict[str, Any]) -> list[str]:
    """The steps that read products sequentially, or a quarter of its rows, as they ran (a
    branch never run has no loops)."""
    found = []
    read = plan.get("Actual Loops", 0) * plan.get("Actual Rows", 0)
    read += plan.get("Rows Removed by Filter", 0) + plan.get("Rows Removed by Index Recheck", 0)
    ran = plan.get("Relation Name") == "products" and plan.get("Actual Loops", 0) > 0
    if ran and (plan["Node Type"] == "Seq Scan" or read >= PRODUCTS // 4):
        found.append(f"{plan['Node Type']} reading {read} rows")
    for child in plan.get("Plans", []):
        found += scans_of_products(child)
    return found


def explain(conn: psycopg.Connection[Any], statement: str, params: dict[str, Any]) -> Any:
    row = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params).fetchone()
    assert row is not None
    return row[0][0]["Plan"] if isinstance(row[0], list) else json.loads(row[0])[0]["Plan"]


def test_the_detector_sees_a_scan(catalog: str) -> None:
    with psycopg.connect(catalog) as conn:
        plan = explain(conn, "SELECT id FROM products WHERE description IS NOT NULL", {})
    assert scans_of_products(plan) != []


@pytest.mark.parametrize("sort", list(ProductSort))
def test_no_term_of_the_mix_scans_the_catalog(catalog: str, sort: ProductSort) -> None:
    assert scanned_terms(catalog, sort, TERMS) == {}


@pytest.mark.xfail(reason="a rare term without a trigram has no index", strict=True)
@pytest.mark.parametrize("term", WITHOUT_AN_INDEX)
def test_a_rare_term_without_a_trigram_does_not_scan(catalog: str, term: str) -> None:
    assert scanned_terms(catalog, ProductSort.PRICE, [term]) == {}


def scanned_terms(catalog: str, sort: ProductSort, terms: list[str]) -> dict[str, list[str]]:
    scanned = {}
    with psycopg.connect(catalog) as conn:
        for term in terms:
            plan = explain(conn, *search_sql(ProductQuery(text=term, sort=sort)))
            if scans := scans_of_products(plan):
                scanned[term] = scans
    return scanned


@pytest.mark.parametrize("sort", list(ProductSort))
def test_page_20_of_a_common_term_does_not_scan(catalog: str, sort: ProductSort) -> None:
    with psycopg.connect(catalog) as conn:
        cursor = None
        for _ in range(19):
            statement, params = search_sql(ProductQuery(text="lamp", sort=sort, cursor=cursor))
            rows = conn.execute(statement, params).fetchall()
            last = rows[19]  # id, name, price, inventory_count, created_at
            key = {ProductSort.NAME: last[1], ProductSort.PRICE: last[2]}.get(sort) or last[4]
            cursor = encode_cursor(sort, key, last[0])
        plan = explain(conn, *search_sql(ProductQuery(text="lamp", sort=sort, cursor=cursor)))
    assert scans_of_products(plan) == []
