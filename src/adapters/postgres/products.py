"""PostgreSQL product repository: optimistic versions, atomic reservations, COPY, keyset search."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from time import monotonic
from typing import Any

from psycopg import sql

from adapters.postgres.rows import columns, mapper, trusted
from adapters.postgres.session import Session, returned, write
from domain.errors import (
    ConcurrencyConflict,
    InsufficientInventory,
    ProductNotFound,
)
from domain.model import NewProduct, Product, ProductChanges, ProductSummary
from domain.search import Page, ProductQuery, ProductSort, encode_cursor, fold, sort_key
from domain.validation import (
    exact_price,
    identifier,
    identifiers,
    instance,
    new_products,
    version,
)
from domain.validation import quantity as valid_quantity

COLUMNS = columns(
    Product, "id, name, description, price, inventory_count, version, created_at, updated_at"
)

INSERT = (
    "INSERT INTO products (name, description, price, inventory_count)"
    " VALUES (%s, %s, %s, %s) RETURNING " + COLUMNS
)
COPY = "COPY products (name, description, price, inventory_count) FROM STDIN (FORMAT BINARY)"
COPY_TYPES = ["varchar", "text", "numeric", "int4"]
# Rows per COPY statement. The rows stream through (memory does not grow with the batch); the
# batch bounds how long one statement runs, so statement_timeout never ends a large import.
# Measured (400,000 rows through import_products, PostgreSQL 15, 2 busy cores, 2 rounds):
# 2,000 rows a batch 30-32k rows/s, 10,000 37-44k, 50,000 40-41k, 200,000 41-47k, one COPY
# 42-52k. From 10,000 rows on, a batch costs less than the noise; 50,000 rows take ~1.2 s,
# a 25th of the default statement_timeout, so even a machine several times slower is safe.
COPY_BATCH_ROWS = 50_000
BY_ID = "SELECT " + COLUMNS + " FROM products WHERE id = %s"
BY_IDS = "SELECT " + COLUMNS + " FROM products WHERE id = ANY(%s::bigint[]) ORDER BY id"
INVENTORY = "SELECT inventory_count FROM products WHERE id = %s"
DELETE = "DELETE FROM products WHERE id = %s"
RESTOCK = (
    "UPDATE products SET inventory_count = inventory_count + %s WHERE id = %s RETURNING " + COLUMNS
)
# One statement, so two concurrent reservations cannot both see the same stock: the second
# waits for the first's row lock and then re-checks the condition against the new count.
RESERVE = (
    "UPDATE products SET inventory_count = inventory_count - %(q)s"
    " WHERE id = %(id)s AND inventory_count >= %(q)s RETURNING " + COLUMNS
)
UPDATE = sql.SQL(
    "UPDATE products SET {changes}, version = version + 1"
    " WHERE id = %(id)s AND version = %(expected)s RETURNING " + COLUMNS
)
EXISTS = "SELECT 1 FROM products WHERE id = %s"

SUMMARY_COLUMNS = columns(ProductSummary, "id, name, price, inventory_count, created_at")
# LIMIT is a literal: with a parameter the generic plan guesses 10% of the table, so the
# server would plan the statement anew on every execution (measured: +80 µs a page).
SEARCH = sql.SQL(
    "SELECT " + SUMMARY_COLUMNS + " FROM products WHERE {filters} ORDER BY {order} LIMIT {n}"
)
# With a filter, no single plan serves every term. Measured at 1,000,000 products (PostgreSQL
# 15): walking the sort's index and filtering stops after a page for a common term (~1 ms)
# but reads the whole catalog for a rare or absent one (~500 ms); the trigram index finds a
# rare term's few names at once (~1 ms) but fetches and sorts all 50,000 names of a common
# one (~70 ms). The planner's estimate of a LIKE '%...%' cannot tell the two apart (it
# walked the name index for "lamp" and for an absent term alike), so the statement decides
# from what it sees: it walks at most {window} rows of the sort's index first (`walk`); when
# those hold a full page, or are all there is after the cursor, that is the page. Otherwise
# the term is rare there, and the second branch, run only then (a one-time filter on the
# counts), takes every match through the filter's own indexes (OFFSET 0 keeps the order off
# the sort's index) and sorts them. Exactly one branch returns rows.
SEARCH_TWO_WAYS = sql.SQL(
    # Not ordered again: the walk's order is kept, and its LIMIT stops the walk at the n-th hit.
    "WITH hits AS MATERIALIZED ("
    " SELECT id FROM ("
    " SELECT {walked} FROM products WHERE {after} ORDER BY {order} LIMIT {window}"
    " ) AS walk WHERE {filters} LIMIT {n}"
    "), beyond AS MATERIALIZED ("
    " SELECT 1 FROM products WHERE {after} ORDER BY {order} OFFSET {window} LIMIT 1"
    ")"
    " SELECT " + SUMMARY_COLUMNS + " FROM ("
    " SELECT " + SUMMARY_COLUMNS + " FROM products WHERE id IN (SELECT id FROM hits)"
    " AND ((SELECT count(*) FROM hits) = {n} OR NOT EXISTS (SELECT 1 FROM beyond))"
    " UNION ALL"
    " (SELECT " + SUMMARY_COLUMNS + " FROM ("
    " SELECT " + SUMMARY_COLUMNS + " FROM products WHERE {filters} AND {after} OFFSET 0"
    " ) AS every_match"
    " WHERE (SELECT count(*) FROM hits) < {n} AND EXISTS (SELECT 1 FROM beyond)"
    " ORDER BY {order} LIMIT {n})"
    ") AS page ORDER BY {order}"
)
# The walk reads only what the filters and the order need. Sorted by name with no other
# filter than the text, that is (name, id): an index-only scan of the name index, which
# reads no table page (measured: ~0.3 µs a row against ~7 µs through the table, whose rows
# lie in another order). Names sort in clusters ("bamboo lamp 1" ... then nothing with
# "lamp" for 20,000 names), so that walk must be long; the other orders meet a term's
# names spread evenly and a short walk tells.
WALKED = {
    ProductSort.NAME: "id, name",
    ProductSort.PRICE: "id, name, price",
    ProductSort.NEWEST: "id, name, created_at",
}
TRIGRAM = re.compile(r"[^\W_]{3}")
FILTER_COLUMNS = {"min_price": "price", "max_price": "price", "in_stock_only": "inventory_count"}
# Rows the first branch walks at most, per row of the page: a term in 1 name of 100 fills
# a page there. A rarer term has at most ~10,000 matches at 1,000,000 products, which the
# trigram index fetches and the server sorts in less than the walk would need to find them.
# Measured there (2 busy cores): a walk through the table ~7 µs a row (~15 ms for a page of
# 20), an index-only walk ~1.3 µs a row, so the name order walks ten times as far: enough
# for the clusters of a sorted catalog ("bamboo lamp ..." comes 17,000 names in).
WINDOW_ROWS_PER_PAGE_ROW = 100
WINDOW_INDEX_ONLY_FACTOR = 10
NAME_FOLDED = 'lower(name COLLATE "C")'
TEXT_FILTER = sql.SQL(NAME_FOLDED + " LIKE %(pattern)s ESCAPE '\\'")
# The same test for a term without a trigram, in a form the trigram index does not serve:
# for LIKE the planner would read that whole index (measured: 1.4 s for "öl" and 3-4 s for
# "lämp" at 1,000,000 products, against ~0.5 s for a scan).
TEXT_POSITION_FILTER = sql.SQL("strpos(" + NAME_FOLDED + ", %(folded)s) > 0")
MIN_PRICE_FILTER = sql.SQL("price >= %(min_price)s")
MAX_PRICE_FILTER = sql.SQL("price <= %(max_price)s")
IN_STOCK_FILTER = sql.SQL("inventory_count > 0")
# Each order and its cursor condition match one index of migration 0003.
ORDER = {
    ProductSort.NAME: sql.SQL('name COLLATE "C", id'),
    ProductSort.PRICE: sql.SQL("price, id"),
    ProductSort.NEWEST: sql.SQL("created_at DESC, id DESC"),
}
AFTER = {
    ProductSort.NAME: sql.SQL('(name COLLATE "C", id) > (%(key)s, %(after_id)s)'),
    ProductSort.PRICE: sql.SQL("(price, id) > (%(key)s, %(after_id)s)"),
    ProductSort.NEWEST: sql.SQL("(created_at, id) < (%(key)s, %(after_id)s)"),
}


to_product = mapper(Product)
to_summary = mapper(ProductSummary)


def window(limit: int, *, index_only: bool) -> int:
    """How many rows of the sort's index a search walks before it asks the filter's indexes."""
    scale = WINDOW_INDEX_ONLY_FACTOR if index_only else 1
    return scale * WINDOW_ROWS_PER_PAGE_ROW * limit


@functools.lru_cache(maxsize=4096)
def search_statement(
    sort: ProductSort,
    limit: int,
    *,
    text: bool,
    min_price: bool,
    max_price: bool,
    in_stock_only: bool,
    after: bool,
    trigrams: bool = True,
) -> str:
    """The search query for one combination of filters and page size, composed once."""
    filters: list[sql.Composable] = [
        fragment
        for wanted, fragment in (
            (text, TEXT_FILTER if trigrams else TEXT_POSITION_FILTER),
            (min_price, MIN_PRICE_FILTER),
            (max_price, MAX_PRICE_FILTER),
            (in_stock_only, IN_STOCK_FILTER),
        )
        if wanted
    ]
    position = AFTER[sort] if after else sql.SQL("TRUE")
    n = sql.Literal(int(limit))
    if not filters or (text and not trigrams):
        # No filter: the walk is the plan. A term without a trigram: no index can find its
        # names, so the planner's plan it is (a short term is mostly common: the walk).
        composed = SEARCH.format(
            filters=sql.SQL(" AND ").join([*filters, position]), order=ORDER[sort], n=n
        )
    else:
        extra = {
            FILTER_COLUMNS[name]
            for name, wanted in (
                ("min_price", min_price),
                ("max_price", max_price),
                ("in_stock_only", in_stock_only),
            )
            if wanted
        }
        walked = ", ".join([WALKED[sort], *sorted(extra - set(WALKED[sort].split(", ")))])
        index_only = sort is ProductSort.NAME and not extra
        composed = SEARCH_TWO_WAYS.format(
            walked=sql.SQL(walked),
            filters=sql.SQL(" AND ").join(filters),
            after=position,
            order=ORDER[sort],
            n=n,
            window=sql.Literal(window(limit, index_only=index_only)),
        )
    return composed.as_string(None)


def has_trigram(folded: str) -> bool:
    """Whether pg_trgm finds a trigram in `folded`: three letters or digits in a row. Letters
    beyond ASCII count under a UTF-8 LC_CTYPE such as C.UTF-8, which the embedded server and
    `shopdb` databases use ("lämp": measured 0.05 ms through the index at 1,000,000
    products); under LC_CTYPE C pg_trgm skips them, and such a term reads the whole index."""
    return TRIGRAM.search(folded) is not None


def like_pattern(text: str) -> str:
    """`text` anywhere in the name, with LIKE's own characters taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_sql(query: ProductQuery) -> tuple[str, dict[str, Any]]:
    """The statement and parameters of one search: what `search` runs, and what a test of
    the plans explains. Raises InvalidInput for a bad cursor."""
    after = query.after()
    params: dict[str, Any] = {}
    trigrams = query.text is not None and has_trigram(fold(query.text))
    if query.text is not None and trigrams:
        params["pattern"] = like_pattern(fold(query.text))
    elif query.text is not None:
        params["folded"] = fold(query.text)
    if query.min_price is not None:
        params["min_price"] = query.min_price
    if query.max_price is not None:
        params["max_price"] = query.max_price
    if after is not None:
        params["key"], params["after_id"] = after
    statement = search_statement(
        query.sort,
        query.limit + 1,  # one more row tells whether there is a next page
        text=query.text is not None,
        min_price=query.min_price is not None,
        max_price=query.max_price is not None,
        in_stock_only=query.in_stock_only,
        after=after is not None,
        trigrams=query.text is not None and has_trigram(fold(query.text)),
    )
    return statement, params


class PostgresProductRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    @write
    def add(self, product: NewProduct) -> Product:
        instance(product, NewProduct, "product")
        exact_price(product)
        with self._s.writing(one_statement=True) as cur:
            row = cur.execute(
                INSERT, (product.name, product.description, product.price, product.inventory_count)
            ).fetchone()
        return to_product(returned(row))

    @write
    def add_many(self, products: Iterable[NewProduct]) -> int:
        rows = new_products(products)
        count = 0
        # One transaction around every batch; whatever raises inside (the caller's iterable,
        # even Ctrl-C) rolls it all back: nothing of the import stays for a later commit().
        # Only the waits on the server are under the deadline, not the time the caller's
        # iterable takes; and a COPY ends after COPY_BATCH_ROWS rows or half the statement
        # timeout, whichever comes first, so a slow source never trips statement_timeout.
        with self._s.writing() as cur, self._s.importing():
            budget = self._s.copy_budget
            pending = next(rows, None)
            while pending is not None:
                opened, in_batch = monotonic(), 0
                self._s.watch()
                with cur.copy(COPY) as copy:
                    copy.set_types(COPY_TYPES)
                    while pending is not None and in_batch < COPY_BATCH_ROWS:
                        p = pending
                        copy.write_row((p.name, p.description, p.price, p.inventory_count))
                        count += 1
                        in_batch += 1
                        self._s.unwatch()
                        pending = next(rows, None)  # the caller's time: no deadline
                        self._s.watch()
                        if budget is not None and monotonic() - opened > budget:
                            break
        return count

    def get(self, product_id: int) -> Product:
        identifier(product_id, "product_id")
        with self._s.reading() as cur:
            row = cur.execute(BY_ID, (product_id,)).fetchone()
        if row is None:
            raise ProductNotFound(product_id)
        return to_product(row)

    def get_many(self, product_ids: Sequence[int]) -> dict[int, Product]:
        with self._s.reading() as cur:
            rows = cur.execute(BY_IDS, (identifiers(product_ids, "product_ids"),)).fetchall()
        return {row[0]: to_product(row) for row in rows}

    @write
    def update(self, product_id: int, expected_version: int, changes: ProductChanges) -> Product:
        identifier(product_id, "product_id")
        version(expected_version)
        changed = instance(changes, ProductChanges, "changes").changed()
        assignments = sql.SQL(", ").join(
            sql.SQL("{} = {}").format(sql.Identifier(column), sql.Placeholder(column))
            for column in changed
        )
        query = UPDATE.format(changes=assignments) if changed else _bump_only()
        params = {**changed, "id": product_id, "expected": expected_version}
        with self._s.writing(one_statement=True, field="version") as cur:
            row = cur.execute(query, params).fetchone()
            if row is None:
                if cur.execute(EXISTS, (product_id,)).fetchone() is None:
                    raise ProductNotFound(product_id)
                raise ConcurrencyConflict(product_id, expected_version)
        return to_product(row)

    @write
    def delete(self, product_id: int) -> None:
        identifier(product_id, "product_id")
        with self._s.writing(one_statement=True, product_id=product_id) as cur:
            if cur.execute(DELETE, (product_id,)).rowcount == 0:
                raise ProductNotFound(product_id)

    @write
    def restock(self, product_id: int, quantity: int) -> Product:
        identifier(product_id, "product_id")
        valid_quantity(quantity)
        with self._s.writing(one_statement=True, field="inventory_count") as cur:
            row = cur.execute(RESTOCK, (quantity, product_id)).fetchone()
            if row is None:
                raise ProductNotFound(product_id)
        return to_product(row)

    @write
    def reserve(self, product_id: int, quantity: int) -> Product:
        identifier(product_id, "product_id")
        valid_quantity(quantity)
        with self._s.writing(one_statement=True) as cur:
            row = cur.execute(RESERVE, {"q": quantity, "id": product_id}).fetchone()
            if row is None:
                stock = cur.execute(INVENTORY, (product_id,)).fetchone()
                if stock is None:
                    raise ProductNotFound(product_id)
                raise InsufficientInventory(product_id, quantity, stock[0])
        return to_product(row)

    def search(self, query: ProductQuery) -> Page[ProductSummary]:
        statement, params = search_sql(instance(query, ProductQuery, "query"))
        with self._s.reading() as cur:
            rows = cur.execute(statement, params).fetchall()
        items = [to_summary(row) for row in rows[: query.limit]]
        cursor = None
        if len(rows) > query.limit:
            last = items[-1]
            cursor = encode_cursor(query.sort, sort_key(last, query.sort), last.id)
        return trusted(Page, {"items": tuple(items), "next_cursor": cursor})


def _bump_only() -> sql.Composed:
    return UPDATE.format(changes=sql.SQL("updated_at = updated_at"))
