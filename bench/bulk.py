"""Bulk import at scale: CatalogService.import_products against one raw COPY, rows/s and peak RSS.

    python -m bench.bulk --rows 10000000       (or: make bench BENCH_ARGS="bulk --rows 10000000")

Both load the same generated rows into an emptied products table (indexes and all) of a fresh
database on DATABASE_URL's server (or the embedded one). shopdb runs with the default settings
(statement_timeout included), from mappings it validates as they stream; the raw side is one
binary COPY on a plain psycopg connection, without a statement_timeout. Peak RSS is the
process's high-water mark (getrusage) after each phase.
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Iterator
from decimal import Decimal

import psycopg

from bench.database import recreate
from shopdb.container import Container, database_url
from shopdb.settings import load_settings

BULK_DATABASE = "shopdb_bench_bulk"
COPY = "COPY products (name, description, price, inventory_count) FROM STDIN (FORMAT BINARY)"
COPY_TYPES = ["varchar", "text", "numeric", "int4"]
WORDS = ["oak", "steel", "linen", "walnut", "copper", "lamp", "desk", "chair", "rug", "vase"]


def rows(count: int) -> Iterator[tuple[str, str, str, int]]:
    """The same rows every time: name, description, price (text, as from a file), stock."""
    for n in range(count):
        name = f"{WORDS[n % 10]} {WORDS[n // 10 % 10]} {n}"
        yield name, f"About the {name}.", f"{n % 99_999 + 1}.{n % 100:02d}", n % 500


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def through_shopdb(url: str, count: int) -> int:
    container = Container(settings=load_settings(DATABASE_URL=url))
    try:
        mappings = (
            {"name": n, "description": d, "price": p, "inventory_count": i}
            for n, d, p, i in rows(count)
        )
        stored: int = container.catalog().import_products(mappings)
        return stored
    finally:
        container.shutdown_resources()


def through_raw_copy(url: str, count: int) -> int:
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(COPY) as copy:
            copy.set_types(COPY_TYPES)
            for n, d, p, i in rows(count):
                copy.write_row((n, d, Decimal(p), i))
        return count


def stored(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM products").fetchone()
    return int(row[0]) if row else 0


def empty(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE products RESTART IDENTITY CASCADE")
        conn.execute("CHECKPOINT")  # each side starts without the other's dirty pages


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bulk",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--database", default=BULK_DATABASE, help="database to (re)create")
    parser.add_argument("--only", choices=["shopdb", "copy"], help="run one side only")
    args = parser.parse_args()

    url = recreate(database_url(load_settings().with_embedded_default()), args.database)
    print(f"{args.rows:,} rows into {args.database}; peak RSS at start {peak_rss_mb():.0f} MB")
    results: dict[str, float] = {}
    for name, load in (("shopdb import_products", through_shopdb), ("raw COPY", through_raw_copy)):
        if args.only and args.only not in name:
            continue
        empty(url)
        started = time.perf_counter()
        count = load(url, args.rows)
        seconds = time.perf_counter() - started
        assert count == stored(url) == args.rows, (count, stored(url))
        results[name] = args.rows / seconds
        print(
            f"{name:<24} {args.rows / seconds:>12,.0f} rows/s  {seconds:>8.1f} s"
            f"  peak RSS {peak_rss_mb():>6.0f} MB",
            flush=True,
        )
    if len(results) == 2:
        ratio = results["shopdb import_products"] / results["raw COPY"]
        print(f"shopdb vs raw COPY       {ratio:.2f}x")


if __name__ == "__main__":
    main()
