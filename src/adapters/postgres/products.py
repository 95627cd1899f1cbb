# Generated from products_async.py (tools/generate_sync.py): edit that instead.
"""PostgreSQL product repository: optimistic versions, atomic reservations, COPY, keyset search."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from time import monotonic

from psycopg import sql

from adapters.postgres.errors import A_CHECK, NEVER_SUPPLIED, ConstraintErrors
from adapters.postgres.product_search import search_sql
from adapters.postgres.rows import columns, mapper, trusted
from adapters.postgres.session import Session, returned, write
from domain.errors import (
    ConcurrencyConflict,
    InsufficientInventory,
    ProductNotFound,
)
from domain.model import NewProduct, Product, ProductChanges, ProductSummary
from domain.search import Page, ProductQuery, encode_cursor, sort_key
from domain.validation import (
    every,
    exact_price,
    identifier,
    identifiers,
    instance,
    new_products,
    product_query,
    version,
)
from domain.validation import quantity as valid_quantity
from ports.products import ProductRepository

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
PULL_ROWS = 1_000
# The planner's statistics after a large import: until autovacuum gets to the table (at its
# own pace, once a tenth of it changed), searches are planned on the counts of before, and
# after a large load they chose plans hundreds of times slower. So an import of at least a
# whole COPY batch that adds at least ANALYZE_SHARE of the rows the planner last counted
# (autovacuum's default scale factor) ends with ANALYZE, inside the unit of work's
# transaction (VACUUM could not run there; ANALYZE can, and counts the rows the transaction
# itself inserted). It samples at most 30,000 rows whatever the table's size, a fraction of
# what such an import takes; a smaller import is left to autovacuum, as the ANALYZE would
# cost more than the import. A role that does not own the table gets a warning from the
# server, and the statistics stay as they were.
ANALYZE_MIN_ROWS = COPY_BATCH_ROWS
ANALYZE_SHARE = 0.1
COUNTED = "SELECT reltuples FROM pg_class WHERE oid = 'products'::regclass"
ANALYZE = "ANALYZE products"
# Every statement that changes a product sets updated_at itself: products has no trigger for it
# (on a Citus cluster a trigger would run once per copy of the reference table, each on its
# own clock; migration 0011). Archived products (deleted_at set) are never read, changed or
# sold: every statement but the order history's (which copies names and prices) keeps to
# `deleted_at IS NULL`.
BY_ID = "SELECT " + COLUMNS + " FROM products WHERE id = %s AND deleted_at IS NULL"
BY_IDS = (
    "SELECT " + COLUMNS + " FROM products"
    " WHERE id = ANY(%s::bigint[]) AND deleted_at IS NULL ORDER BY id"
)
INVENTORY = "SELECT inventory_count FROM products WHERE id = %s AND deleted_at IS NULL"
# Archiving, in two statements. The first takes the row lock a DELETE would take (FOR
# UPDATE): it waits for every unit of work that is adding the product to a cart (they hold a
# key-share lock on it) or selling it (a checkout holds it for update), and makes later ones
# wait for this one, after which they find the product archived. The second runs after the
# lock is held, so its snapshot holds every cart line committed while the first waited.
LOCK_TO_ARCHIVE = "SELECT id FROM products WHERE id = %s AND deleted_at IS NULL FOR UPDATE"
ARCHIVE = (
    "WITH archived AS (UPDATE products SET deleted_at = now(), updated_at = now()"
    " WHERE id = %(id)s)"
    " DELETE FROM cart_items WHERE product_id = %(id)s"
)
RESTOCK = (
    "UPDATE products SET inventory_count = inventory_count + %s, updated_at = now()"
    " WHERE id = %s AND deleted_at IS NULL RETURNING " + COLUMNS
)
# One statement, so two concurrent reservations cannot both see the same stock: the second
# waits for the first's row lock and then re-checks the condition against the new count.
RESERVE = (
    "UPDATE products SET inventory_count = inventory_count - %(q)s, updated_at = now()"
    " WHERE id = %(id)s AND inventory_count >= %(q)s AND deleted_at IS NULL RETURNING " + COLUMNS
)
UPDATE = sql.SQL(
    "UPDATE products SET {changes}version = version + 1, updated_at = now()"
    " WHERE id = %(id)s AND version = %(expected)s AND deleted_at IS NULL RETURNING " + COLUMNS
)
EXISTS = "SELECT 1 FROM products WHERE id = %s AND deleted_at IS NULL"

to_product = mapper(Product)
to_summary = mapper(ProductSummary)

# Products are archived, never deleted, and the other rules are CHECKs (see constraints.py).
CONSTRAINT_ERRORS: ConstraintErrors = {}

# This repository's constraints that need no domain error, each with the reason.
UNMAPPED: Mapping[str, str] = {
    "products_pkey": NEVER_SUPPLIED,
    "products_name_not_blank_check": A_CHECK,
    "products_price_non_negative_check": A_CHECK,
    "products_price_not_nan_check": A_CHECK,
    "products_inventory_count_non_negative_check": A_CHECK,
    "products_version_positive_check": A_CHECK,
    "products_description_length_check": A_CHECK,
}


class PostgresProductRepository:
    __slots__ = ("_s",)

    def __init__(self, session: Session) -> None:
        self._s = session

    @write
    def add(self, product: NewProduct) -> Product:
        instance(product, NewProduct, "product")
        exact_price(product)
        with self._s.writing(one_statement=True) as cur:
            row = cur.execute(
                INSERT,
                (product.name, product.description, product.price, product.inventory_count),
            ).fetchone()
        return to_product(returned(row))

    @write
    def add_many(self, products: Iterable[NewProduct]) -> int:
        rows = new_products(products)
        count = 0
        # One transaction around every batch; whatever raises inside (the caller's iterable,
        # even Ctrl-C) rolls it all back: nothing of the import stays for a later commit().
        # Only the waits on the server are under the deadline, not the time the caller's
        # iterable takes: rows are pulled up to PULL_ROWS at a time with the deadline stopped,
        # then written under it (stopping and starting it around every row cost ~0.4 µs of the
        # ~11 µs a row takes). A COPY ends after COPY_BATCH_ROWS rows or half the statement
        # timeout, whichever comes first, also in the middle of a pull: a slow source never
        # trips statement_timeout.
        with self._s.writing() as cur, self._s.importing():
            budget = math.inf if self._s.copy_budget is None else self._s.copy_budget
            pending = self._pull(rows, PULL_ROWS, math.inf)
            while pending:
                opened, in_batch = monotonic(), 0
                with cur.copy(COPY) as copy:
                    copy.set_types(COPY_TYPES)
                    write_row = copy.write_row
                    while pending:
                        for p in pending:
                            write_row((p.name, p.description, p.price, p.inventory_count))
                        count += len(pending)
                        in_batch += len(pending)
                        room = COPY_BATCH_ROWS - in_batch
                        if room <= 0 or monotonic() - opened > budget:
                            pending = []  # this COPY ends here: its end waits on the server
                            break
                        # The COPY stays open while the caller's rows come: up to the budget.
                        pending = self._pull(rows, min(PULL_ROWS, room), opened + budget)
                pending = self._pull(rows, PULL_ROWS, math.inf)
            if count >= ANALYZE_MIN_ROWS:
                # -1: the table was never counted
                counted = returned(cur.execute(COUNTED).fetchone())[0]
                if count >= ANALYZE_SHARE * max(counted, 0):
                    cur.execute(ANALYZE)
        return count

    def _pull(self, rows: Iterator[NewProduct], most: int, until: float) -> list[NewProduct]:
        """Up to `most` of the caller's rows, fewer once the clock passes `until`: the caller's
        time, outside the deadline (every wait on the server around it is under it)."""
        pulled: list[NewProduct] = []
        self._s.unwatch()
        try:
            for row in rows:
                pulled.append(row)
                if len(pulled) >= most or monotonic() > until:
                    break
        finally:
            self._s.watch()
        return pulled

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
        every(
            lambda: identifier(product_id, "product_id"),
            lambda: version(expected_version),
            lambda: instance(changes, ProductChanges, "changes"),
        )
        changed = instance(changes, ProductChanges, "changes").changed()
        assignments = sql.SQL("").join(
            sql.SQL("{} = {}, ").format(sql.Identifier(column), sql.Placeholder(column))
            for column in changed
        )
        query = UPDATE.format(changes=assignments)
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
        with self._s.writing(product_id=product_id) as cur:
            if cur.execute(LOCK_TO_ARCHIVE, (product_id,)).fetchone() is None:
                raise ProductNotFound(product_id)
            cur.execute(ARCHIVE, {"id": product_id})

    @write
    def restock(self, product_id: int, quantity: int) -> Product:
        every(lambda: identifier(product_id, "product_id"), lambda: valid_quantity(quantity))
        with self._s.writing(one_statement=True, field="inventory_count") as cur:
            row = cur.execute(RESTOCK, (quantity, product_id)).fetchone()
            if row is None:
                raise ProductNotFound(product_id)
        return to_product(row)

    @write
    def reserve(self, product_id: int, quantity: int) -> Product:
        every(lambda: identifier(product_id, "product_id"), lambda: valid_quantity(quantity))
        with self._s.writing(one_statement=True) as cur:
            row = cur.execute(RESERVE, {"q": quantity, "id": product_id}).fetchone()
            if row is None:
                stock = cur.execute(INVENTORY, (product_id,)).fetchone()
                if stock is None:
                    raise ProductNotFound(product_id)
                raise InsufficientInventory(product_id, quantity, stock[0])
        return to_product(row)

    def search(self, query: ProductQuery) -> Page[ProductSummary]:
        query = product_query(query)
        statement, params = search_sql(query)
        with self._s.reading() as cur:
            rows = cur.execute(statement, params).fetchall()
        items = [to_summary(row) for row in rows[: query.limit]]
        cursor = None
        if len(rows) > query.limit:
            last = items[-1]
            cursor = encode_cursor(query.sort, sort_key(last, query.sort), last.id)
        return trusted(Page, {"items": tuple(items), "next_cursor": cursor})


# The class's conformance to its port: `mypy src` fails here when a port method is missing
# or its signature differs.
_conforms: type[ProductRepository] = PostgresProductRepository
