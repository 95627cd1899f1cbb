"""Cart use cases at growing cart sizes: the time per call at 1, 100 and 1,000 lines.

    python -m bench cart --lines 1 100 1000       (or: make bench BENCH_ARGS="cart")

One fresh database on DATABASE_URL's server (or the embedded one) holds one user per size,
each with a cart of that many lines. Each use case runs through CartService on a pool, the
sizes interleaved call by call so that drift on the machine hits them alike; every call leaves
the cart as it found it (a changed quantity, a line removed then added back). Prints the
median and 95th percentile per call and the statements each call sent; the cost should not
grow with the cart.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from collections.abc import Callable
from typing import Any

import psycopg

from adapters.postgres import PoolConfig, PostgresUnitOfWorkFactory, create_pool
from bench.database import PASSWORD_HASH, recreate
from services import CartService
from shopdb.container import database_url
from shopdb.settings import load_settings

CART_DATABASE = "shopdb_bench_cart"
STOCK = 1_000_000
WARM_UP = 20  # calls per size before timing: plans cached, pages in memory


def fill(url: str, sizes: list[int]) -> dict[int, int]:
    """A user per size whose cart holds products 1..size; returns size -> user id."""
    users = {}
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO products (name, price, inventory_count)"
            " SELECT 'P' || n, 1.00, %s FROM generate_series(1, %s) n",
            (STOCK, max(sizes) + 1),
        )
        for size in sizes:
            row = cur.execute(
                "INSERT INTO users (username, email, password_hash) VALUES (%s, %s, %s)"
                " RETURNING id",
                (f"lines{size}", f"lines{size}@example.com", PASSWORD_HASH),
            ).fetchone()
            assert row is not None
            users[size] = int(row[0])
            cur.execute(
                "WITH c AS (INSERT INTO carts (user_id) VALUES (%s) RETURNING id)"
                " INSERT INTO cart_items (user_id, cart_id, product_id, quantity)"
                " SELECT %s, c.id, n, 1 FROM c, generate_series(1, %s) n",
                (users[size], users[size], size),
            )
        cur.execute("ANALYZE")
    with psycopg.connect(url, autocommit=True) as conn, contextlib.suppress(psycopg.Error):
        # Else the checkpoint the fill caused lands in the first use case's timings.
        conn.execute("CHECKPOINT")
    return users


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench cart",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--lines", type=int, nargs="+", default=[1, 100, 1000])
    parser.add_argument("--calls", type=int, default=500, help="calls per use case and size")
    parser.add_argument("--database", default=CART_DATABASE, help="database to (re)create")
    args = parser.parse_args()

    url = recreate(database_url(load_settings().with_embedded_default()), args.database)
    users = fill(url, args.lines)
    pool = create_pool(PoolConfig(conninfo=url, min_size=1, max_size=1, timeout=30))
    pool.wait()
    carts = CartService(PostgresUnitOfWorkFactory(pool))
    with psycopg.connect(url) as conn:
        version = conn.execute("SHOW server_version").fetchone()
    print(f"PostgreSQL {version[0] if version else '?'}; {args.calls} calls per size")
    print(f"{'use case':<30} {'lines':>6} {'median µs':>10} {'p95 µs':>10}")
    # Each use case on one size, then back: product `size` is always in the cart.
    cases: dict[str, Callable[[int, int], Any]] = {
        "change_quantity": lambda user, size: carts.change_quantity(user, size, 2),
        "remove_from_cart + add_to_cart": lambda user, size: (
            carts.remove_from_cart(user, size),
            carts.add_to_cart(user, size),
        ),
        "add_to_cart (existing line)": lambda user, size: carts.add_to_cart(user, size),
        "view_cart (whole cart)": lambda user, size: carts.view_cart(user),
    }
    for name, case in cases.items():
        times: dict[int, list[float]] = {size: [] for size in args.lines}
        for _ in range(WARM_UP):
            for size in args.lines:
                case(users[size], size)
        for _ in range(args.calls):
            for size in args.lines:
                started = time.perf_counter()
                case(users[size], size)
                times[size].append((time.perf_counter() - started) * 1e6)
        for size in args.lines:
            spent = sorted(times[size])
            p95 = spent[int(len(spent) * 0.95) - 1] if len(spent) >= 20 else spent[-1]
            print(f"{name:<30} {size:>6,} {statistics.median(spent):>10.0f} {p95:>10.0f}")
    pool.close()


if __name__ == "__main__":
    main()
