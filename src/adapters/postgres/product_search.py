"""The product search's SQL: which index finds a term's names, chosen per term and per page."""

from __future__ import annotations

import functools
import re
from enum import Enum
from typing import Any

from psycopg import sql

from adapters.postgres.rows import columns
from domain.model import ProductSummary
from domain.search import ProductQuery, ProductSort, fold

SUMMARY_COLUMNS = columns(ProductSummary, "id, name, price, inventory_count, created_at")
# LIMIT is a literal: with a parameter the generic plan guesses 10% of the table, so the
# server would plan the statement anew on every execution (measured: +80 µs a page).
SEARCH = sql.SQL(
    "SELECT "
    + SUMMARY_COLUMNS
    + " FROM products WHERE deleted_at IS NULL AND {filters} ORDER BY {order} LIMIT {n}"
)
# With a text filter, no single plan serves every term, and the planner cannot tell them
# apart (its estimate of LIKE '%...%' is the same guess for "lamp" and for an absent term), so
# the statement decides from what it sees. Measured at 1,000,000 products (PostgreSQL 15, 2
# busy cores): walking a sort's index and testing each name (index-only, migration 0008)
# costs ~0.2 µs a row and stops after a page for a common term, but reads it all for a rare
# one; the trigram index finds a rare term's names at once, but for a common one it builds a
# bitmap of 100,000 names (6-14 ms) and fetches and sorts them (~100 ms).
#
# `probe` counts the term in the newest {sample} names (an index-only read of ~0.4 ms; the
# newest names are as good a sample as any, and the newest order's walk reads them anyway).
# A term found often enough there is common: `hits` walks at most {window} rows of the sort's
# index and stops at a full page. When those rows hold a full page, or are all there is after
# the cursor (`beyond` is empty), that is the page. Otherwise, or when the probe found the
# term rare, the last branch (behind a one-time filter, so it runs only then) takes every
# match through the text's index (OFFSET 0 keeps the order off the sort's index) and sorts
# them. Exactly one branch returns rows; the walk and `beyond` run only when needed.
# Archived products (deleted_at set, 0007) are never listed: every part keeps to live rows,
# which is what the sort indexes of 0008 hold, so the walks and the probe stay index-only.
SEARCH_BY_EVIDENCE = sql.SQL(
    "WITH probe AS MATERIALIZED ("
    " SELECT count(*) >= {enough} AS common FROM ("
    " SELECT name_folded FROM products WHERE deleted_at IS NULL"
    " ORDER BY created_at DESC, id DESC LIMIT {sample}"
    " ) AS sample WHERE {probe}"
    # Not ordered again: the walk's order is kept, and its LIMIT stops the walk at the n-th hit.
    "), hits AS MATERIALIZED ("
    " SELECT id FROM ("
    " SELECT {walked} FROM products WHERE deleted_at IS NULL AND {after}"
    " ORDER BY {order} LIMIT {window}"
    " ) AS walk WHERE {walk_filters} AND (SELECT common FROM probe) LIMIT {n}"
    "), beyond AS MATERIALIZED ("
    " SELECT 1 FROM products WHERE deleted_at IS NULL AND {after}"
    " ORDER BY {order} OFFSET {window} LIMIT 1"
    ")"
    " SELECT " + SUMMARY_COLUMNS + " FROM ("
    " SELECT " + SUMMARY_COLUMNS + " FROM products WHERE id IN (SELECT id FROM hits)"
    " AND (SELECT common FROM probe)"
    " AND ((SELECT count(*) FROM hits) = {n} OR NOT EXISTS (SELECT 1 FROM beyond))"
    " UNION ALL"
    " (SELECT " + SUMMARY_COLUMNS + " FROM ("
    " SELECT " + SUMMARY_COLUMNS + " FROM products"
    " WHERE deleted_at IS NULL AND {index_filters} AND {after} OFFSET 0"
    " ) AS every_match"
    " WHERE (NOT (SELECT common FROM probe)"
    " OR ((SELECT count(*) FROM hits) < {n} AND EXISTS (SELECT 1 FROM beyond)))"
    " ORDER BY {order} LIMIT {n})"
    ") AS page ORDER BY {order}"
)
PROBE_SAMPLE_ROWS = 2_000
# How many of the sample's names must hold the term for a walk. In name order, names come in
# clusters ("bamboo lamp ..." then nothing with "lamp" for 20,000 names; "wool" first shows
# 47,000 names in), so only a term in 1% of the names walks there, and far (WINDOW); a rarer
# one there ("oak rug", 0.25%, sits in one stretch 530,000 names in) is a look-up. The
# other orders meet a term's names spread evenly: in 0.15% of the names (3 of 2,000), a
# page is ~14,000 rows in, ~3 ms; below that the look-up fetches under ~2,000 names.
ENOUGH = {ProductSort.NAME: 20, ProductSort.PRICE: 3, ProductSort.NEWEST: 3}
# Rows a walk reads at most, per row of the page. Index-only (~0.2 µs a row): 1,000, and
# 5,000 in name order to pass its clusters (105,000 rows, ~20 ms, only for a common term
# whose names lie that far). Through the table (~7 µs a row, when a price range or stock
# filter needs a column the index lacks): 100, a page of a term in 1% of the names.
WINDOW = {ProductSort.NAME: 5_000, ProductSort.PRICE: 1_000, ProductSort.NEWEST: 1_000}
WINDOW_THROUGH_TABLE = 100
# What the walk reads: the index's own columns, so that it is index-only (migration 0010
# adds the folded name to every sort index).
WALKED = {
    ProductSort.NAME: "id, name_folded",
    ProductSort.PRICE: "id, name_folded, price",
    ProductSort.NEWEST: "id, name_folded, created_at",
}
# The name as the search's case rule folds it (domain.folding), stored by the database when
# the name is written (migration 0010): the search compares it with the term folded alike.
NAME_FOLDED = "name_folded"
# The test itself, in a form no index serves: cheap on rows already read (the probe, the
# walk, a look-up's recheck), and never a reason for the planner to read a whole index.
TEXT_FILTER = sql.SQL("strpos(" + NAME_FOLDED + ", %(folded)s::text) > 0")
# How the text's names are looked up: a term whose every character pg_trgm sees (letters and
# digits, words apart by single spaces) through the trigram index of 0005 (0010); any other term
# through the hexadecimal one of 0008 (0010), whose trigrams see every character (the bytes are
# encoded on the server, so the database's encoding decides both sides alike). Measured at
# 1,000,000 products: "lamp_" 0.3 ms there against ~60-120 ms through the other (every
# name with "lamp" fetched and rechecked), "50%" 0.2 ms against a scan (~0.5-1 s).
NAME_HEX = "encode(replace(" + NAME_FOLDED + ", '\\', '\\\\')::bytea, 'hex')"
TERM_HEX = "encode(replace(%(folded)s::text, '\\', '\\\\')::bytea, 'hex')"


class Lookup(Enum):
    """The index that finds a term's names."""

    TRIGRAM = sql.SQL(NAME_FOLDED + " LIKE %(pattern)s ESCAPE '\\'")
    HEX = sql.SQL(NAME_HEX + " LIKE '%%' || " + TERM_HEX + " || '%%'")


TRIGRAM = re.compile(r"[^\W_]{3}")
MIN_PRICE_FILTER = sql.SQL("price >= %(min_price)s")
MAX_PRICE_FILTER = sql.SQL("price <= %(max_price)s")
IN_STOCK_FILTER = sql.SQL("inventory_count > 0")
# Each order and its cursor condition match one index of migration 0003 (0008, 0010).
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


def lookup(folded: str) -> Lookup | None:
    """The index for a folded term, or None for a term of one byte (a single ASCII
    character), which no index here can find: a hexadecimal trigram spans a byte and a half.
    Letters beyond ASCII are letters to pg_trgm under a UTF-8 LC_CTYPE such as C.UTF-8, which
    the embedded server and `shopdb` databases use; under LC_CTYPE C it skips them, and such
    a term finds fewer trigrams there (more names to recheck, the same result)."""
    words = folded.split(" ")
    if TRIGRAM.search(folded) and all(word.isalnum() for word in words):
        return Lookup.TRIGRAM
    return Lookup.HEX if len(folded.encode()) > 1 else None


def window(sort: ProductSort, limit: int, *, index_only: bool) -> int:
    """How many rows of the sort's index a search walks before it asks the text's index."""
    return (WINDOW[sort] if index_only else WINDOW_THROUGH_TABLE) * limit


@functools.lru_cache(maxsize=4096)
def search_statement(
    sort: ProductSort,
    limit: int,
    *,
    text: Lookup | None,
    min_price: bool,
    max_price: bool,
    in_stock_only: bool,
    after: bool,
    scan: bool = False,
) -> str:
    """The search query for one combination of filters and page size, composed once. `scan`:
    a text no index finds (`lookup` gave None), which the planner's own plan reads."""
    chosen = [
        (fragment, column)
        for wanted, fragment, column in (
            (min_price, MIN_PRICE_FILTER, "price"),
            (max_price, MAX_PRICE_FILTER, "price"),
            (in_stock_only, IN_STOCK_FILTER, "inventory_count"),
        )
        if wanted
    ]
    extras: list[sql.Composable] = [fragment for fragment, _ in chosen]
    position = AFTER[sort] if after else sql.SQL("TRUE")
    n = sql.Literal(int(limit))
    if text is None:
        # No text, or one no index finds: the walk is the plan (such a term is mostly common).
        filters = [TEXT_FILTER, *extras] if scan else extras
        composed = SEARCH.format(
            filters=sql.SQL(" AND ").join([*filters, position]), order=ORDER[sort], n=n
        )
        return composed.as_string(None)
    in_index = WALKED[sort].split(", ")
    beyond_index = sorted({column for _, column in chosen} - set(in_index))
    walked = ", ".join([*in_index, *beyond_index])
    index_only = not beyond_index
    composed = SEARCH_BY_EVIDENCE.format(
        enough=sql.Literal(ENOUGH[sort]),
        sample=sql.Literal(PROBE_SAMPLE_ROWS),
        probe=TEXT_FILTER,
        walked=sql.SQL(walked),
        walk_filters=sql.SQL(" AND ").join([TEXT_FILTER, *extras]),
        index_filters=sql.SQL(" AND ").join([text.value, TEXT_FILTER, *extras]),
        after=position,
        order=ORDER[sort],
        n=n,
        window=sql.Literal(window(sort, limit, index_only=index_only)),
    )
    return composed.as_string(None)


def like_pattern(text: str) -> str:
    """`text` anywhere in the name, with LIKE's own characters taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_sql(query: ProductQuery) -> tuple[str, dict[str, Any]]:
    """The statement and parameters of one search: what `search` runs, and what a test of
    the plans explains. Raises InvalidInput for a bad cursor."""
    after = query.after()
    params: dict[str, Any] = {}
    text: Lookup | None = None
    if query.text is not None:
        params["folded"] = fold(query.text)
        text = lookup(params["folded"])
        if text is Lookup.TRIGRAM:
            params["pattern"] = like_pattern(params["folded"])
    if query.min_price is not None:
        params["min_price"] = query.min_price
    if query.max_price is not None:
        params["max_price"] = query.max_price
    if after is not None:
        params["key"], params["after_id"] = after
    statement = search_statement(
        query.sort,
        query.limit + 1,  # one more row tells whether there is a next page
        text=text,
        min_price=query.min_price is not None,
        max_price=query.max_price is not None,
        in_stock_only=query.in_stock_only,
        after=after is not None,
        scan=query.text is not None and text is None,
    )
    return statement, params
