"""A flash sale: every shopper checks out one hot product and a cold one of its own, at once.

    python -m bench flash                         (or: make bench BENCH_ARGS="flash")

One fresh database on DATABASE_URL's server (or the embedded one): `--shoppers` users, each
with a cart of one unit of the hot product and one of a cold product of its own. For each hot
stock (half the shoppers, so half of them find it sold out, and all of them) and each number
of threads, the shoppers check out through shopdb's `CartService.checkout`, through
hand-written SQL on a raw psycopg pool (a conditional `UPDATE ... WHERE inventory_count >= q`
per line) and through the same SQL taking `SELECT ... FOR UPDATE` on the cart's products
first; every contestant on its own pool of `--pool` connections. Contestants are interleaved
run by run, each run on the same reset database, and the invariants are checked after every
run: no negative stock, units sold = order lines = successful checkouts = min(stock,
shoppers), one order per user, each order's total its lines', unsold carts untouched.

Prints, per stock, threads and contestant, the median over the repeats of successful
checkouts/s, of the p99 latency over all attempts and of the median latency of a sold-out
attempt, then shopdb against the better raw contestant.
"""

from __future__ import annotations

import argparse
import random
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg

from bench.contestants import RawForUpdate, RawPool, Shopdb, SoldOut
from bench.database import PASSWORD_HASH, recreate
from domain.errors import InsufficientInventory
from shopdb.container import database_url
from shopdb.settings import load_settings

FLASH_DATABASE = "shopdb_bench_flash"
COLD_STOCK = 1_000_000
# The hot product is created last: the raw contestants lock a cart's products in id order,
# so it is the last row they lock and the one they hold the shortest (the harder case for
# shopdb, which locks every product of the cart in one statement).
RESET = (
    "DELETE FROM order_lines",
    "DELETE FROM orders",
    "DELETE FROM cart_items",
    "UPDATE products SET updated_at = now(),"
    " inventory_count = CASE WHEN id = %(hot)s THEN %(stock)s ELSE %(cold)s END",
    "INSERT INTO cart_items (user_id, cart_id, product_id, quantity)"
    " SELECT c.user_id, c.id, p, 1 FROM carts c, LATERAL (VALUES (c.user_id), (%(hot)s)) v (p)",
)
SOLD_OUT = (InsufficientInventory, SoldOut)
# Each is built from (url, pool size) and has `name`, `checkout(user_id)` and `close()`.
CONTESTANTS: list[Callable[[str, int], Any]] = [Shopdb, RawPool, RawForUpdate]


@dataclass
class Outcome:
    rate: float  # successful checkouts per second
    p99: float  # ms, over all attempts
    sold_out: float  # ms, median of the attempts that found the product sold out
    successes: int


def fill(url: str, shoppers: int) -> int:
    """Shopper n is user n, with cold product n; the hot product comes last. Its id."""
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO products (name, price, inventory_count)"
            " SELECT 'cold ' || n, 9.99, %s FROM generate_series(1, %s) n",
            (COLD_STOCK, shoppers),
        )
        row = cur.execute(
            "INSERT INTO products (name, price, inventory_count) VALUES ('hot', 49.99, 0)"
            " RETURNING id"
        ).fetchone()
        assert row is not None
        cur.execute(
            "INSERT INTO users (username, email, password_hash)"
            " SELECT 'flash' || n, 'flash' || n || '@example.com', %s"
            " FROM generate_series(1, %s) n",
            (PASSWORD_HASH, shoppers),
        )
        cur.execute("INSERT INTO carts (user_id) SELECT id FROM users ORDER BY id")
    return int(row[0])


def reset(url: str, hot: int, stock: int) -> None:
    values = {"hot": hot, "stock": stock, "cold": COLD_STOCK}
    with psycopg.connect(url) as conn:
        for statement in RESET:
            conn.execute(statement, values if "%(" in statement else None)
    with psycopg.connect(url, autocommit=True) as conn:
        # Every run starts from tables of the same shape, dead row versions of the last gone.
        conn.execute("VACUUM (ANALYZE) products, carts, cart_items, orders, order_lines")


def check(url: str, hot: int, stock: int, shoppers: int, successes: int) -> None:
    """The invariants after a run; SystemExit naming the first that does not hold."""
    expected = min(stock, shoppers)
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT inventory_count FROM products WHERE id = %(hot)s),"
            " (SELECT min(inventory_count) FROM products),"
            " (SELECT sum(CASE WHEN id = %(hot)s THEN %(stock)s ELSE %(cold)s END"
            "  - inventory_count) FROM products),"
            " (SELECT coalesce(sum(quantity), 0) FROM order_lines),"
            " (SELECT count(*) FROM order_lines WHERE product_id = %(hot)s),"
            " (SELECT count(*) FROM orders), (SELECT count(DISTINCT user_id) FROM orders),"
            " (SELECT count(*) FROM orders o WHERE total <> (SELECT sum(unit_price * quantity)"
            "  FROM order_lines l WHERE l.order_id = o.id)),"
            " (SELECT count(*) FROM carts c WHERE (SELECT count(*) FROM cart_items i"
            "  WHERE i.cart_id = c.id) <> CASE WHEN EXISTS (SELECT FROM orders o"
            "  WHERE o.user_id = c.user_id) THEN 0 ELSE 2 END)",
            {"hot": hot, "stock": stock, "cold": COLD_STOCK},
        ).fetchone()
    assert row is not None
    left, lowest, taken, sold, hot_lines, orders, buyers, wrong_totals, wrong_carts = row
    facts = {
        "successful checkouts = min(stock, shoppers)": successes == expected,
        "no negative stock": lowest >= 0,
        "hot stock left = stock - successes": left == stock - successes,
        "units taken = units sold": taken == sold == 2 * successes,
        "hot order lines = successes": hot_lines == successes,
        "orders = successes": orders == successes,
        "one order per user": buyers == orders,
        "each order's total is its lines'": wrong_totals == 0,
        "sold carts emptied, the others untouched": wrong_carts == 0,
    }
    broken = [fact for fact, holds in facts.items() if not holds]
    if broken:
        raise SystemExit(f"invariant broken: {', '.join(broken)} ({row}, {successes} successes)")


def run(checkout: Callable[[int], Any], users: list[int], threads: int) -> Outcome:
    """Every user checks out once, the users dealt to `threads` threads released together."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    failed: list[list[float]] = [[] for _ in range(threads)]
    start = threading.Barrier(threads + 1)

    def shopper(n: int) -> None:
        start.wait()
        for user in users[n::threads]:
            began = time.perf_counter()
            try:
                checkout(user)
            except SOLD_OUT:
                failed[n].append(time.perf_counter() - began)
            latencies[n].append(time.perf_counter() - began)

    workers = [threading.Thread(target=shopper, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - began
    every = sorted(t for each in latencies for t in each)
    misses = [t for each in failed for t in each]
    successes = len(every) - len(misses)
    return Outcome(
        rate=successes / elapsed,
        p99=every[max(0, int(len(every) * 0.99) - 1)] * 1000,
        sold_out=statistics.median(misses) * 1000 if misses else 0.0,
        successes=successes,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench flash",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--shoppers", type=int, default=400)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--pool", type=int, default=10, help="connections per contestant")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--stocks",
        nargs="+",
        choices=["half", "all"],
        default=["half", "all"],
        help="hot stock: half the shoppers (half of them find it sold out), or all of them",
    )
    parser.add_argument("--seed", type=int, default=20261205)
    parser.add_argument("--database", default=FLASH_DATABASE, help="database to (re)create")
    args = parser.parse_args()

    url = recreate(database_url(load_settings().with_embedded_default()), args.database)
    hot = fill(url, args.shoppers)
    rng = random.Random(args.seed)
    with psycopg.connect(url) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        users = [int(r[0]) for r in conn.execute("SELECT id FROM users ORDER BY id")]
    print(
        f"PostgreSQL {version[0] if version else '?'}; {args.shoppers} shoppers, pools of"
        f" {args.pool}, {args.repeats} repeats, contestants interleaved; medians",
        flush=True,
    )
    print(
        f"{'hot stock':>9} {'threads':>7} {'contestant':<20} {'checkouts/s':>11}"
        f" {'min - max':^17} {'p99 ms':>8} {'sold-out p50 ms':>15}"
    )
    verdicts: list[str] = []
    stocks = {"half": args.shoppers // 2, "all": args.shoppers}
    for stock in (stocks[name] for name in args.stocks):
        for threads in args.threads:
            contestants = [kind(url, args.pool) for kind in CONTESTANTS]
            outcomes: dict[str, list[Outcome]] = {c.name: [] for c in contestants}
            for repeat in range(args.repeats + 1):  # the first one warms up, and is not kept
                turn = repeat % len(contestants)
                order = contestants[turn:] + contestants[:turn]
                for contestant in order:
                    reset(url, hot, stock)
                    rng.shuffle(users)
                    outcome = run(contestant.checkout, users, threads)
                    check(url, hot, stock, args.shoppers, outcome.successes)
                    if repeat:
                        outcomes[contestant.name].append(outcome)
            for contestant in contestants:
                contestant.close()
            verdicts.append(report(stock, threads, outcomes))
    print("\nshopdb against the better raw contestant (checkouts/s; p99)")
    for verdict in verdicts:
        print(verdict)


def report(stock: int, threads: int, outcomes: dict[str, list[Outcome]]) -> str:
    medians = {}
    for name, runs in outcomes.items():
        rates = [o.rate for o in runs]
        rate, p99 = statistics.median(rates), statistics.median(o.p99 for o in runs)
        sold_out = statistics.median(o.sold_out for o in runs)
        medians[name] = (rate, p99)
        print(
            f"{stock:>9,} {threads:>7} {name:<20} {rate:>11,.0f} {min(rates):>8,.0f} -"
            f" {max(rates):<8,.0f} {p99:>8.1f} {sold_out:>15.1f}",
            flush=True,
        )
    raw = [n for n in medians if n in (RawPool.name, RawForUpdate.name)]
    best = max(raw, key=lambda n: medians[n][0])
    (rate, p99), (raw_rate, raw_p99) = medians[Shopdb.name], medians[best]
    return (
        f"  stock {stock:,}, {threads} threads: {rate / raw_rate:.2f}x; p99 {p99:.1f} / "
        f"{raw_p99:.1f} ms = {p99 / raw_p99:.2f}x  (against {best})"
    )


if __name__ == "__main__":
    main()
