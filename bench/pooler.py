"""Direct against through a transaction pooler, in one run: `python -m bench.pooler DIRECT POOLED`.

DIRECT is the server's maintenance database, POOLED the same server through PgBouncer in
transaction mode (e.g. `.ci/pgbouncer start`). Prints ops/s (median of repeats, every workload
in both modes in each repeat so that load from elsewhere hits all alike) of shopdb's
units of work with the pool in its default mode on DIRECT and in pooler mode on POOLED, and the
cost of the alternative to role defaults: a `SET LOCAL` at the start of every transaction."""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql

from adapters.postgres import PoolConfig, PostgresUnitOfWorkFactory, create_pool
from bench.database import _with_database, add_products, add_users_and_carts, recreate, settle
from domain.model import NewUser
from services import CartService

Steps = dict[str, Callable[[int], Any]]
DATABASE = "shopdb_bench_pooler"
PASSWORD_HASH = "$argon2id$v=19$m=8,t=1,p=1$YmVuY2g$YmVuY2g"  # noqa: S105 - not a secret


def rate(step: Callable[[int], Any], seconds: float, start_at: int) -> float:
    """ops/s of `step` over `seconds`."""
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        step(start_at + done)
        done += 1
    return done / elapsed


def workloads(url: str, pooled: bool, args: argparse.Namespace) -> tuple[Any, Steps]:
    """The pool (to close) and the workloads, shopdb's units of work and the raw SET LOCAL pair."""
    config = PoolConfig(conninfo=url, min_size=2, max_size=2, timeout=30, transaction_pooler=pooled)
    pool = create_pool(config)
    pool.wait()
    uow = PostgresUnitOfWorkFactory(pool)
    carts = CartService(uow)
    rng = random.Random(args.seed)
    tag = "p" if pooled else "d"
    raw = psycopg.connect(url, autocommit=True, prepare_threshold=None)
    cur = raw.cursor()

    def point_read(n: int) -> None:
        with uow(read_only=True) as work:
            work.products.get(rng.randrange(1, args.products + 1))

    def insert(n: int) -> None:
        email = f"bench{tag}{n}@example.com"
        user = NewUser(username=f"bench{tag}{n}", email=email, password_hash=PASSWORD_HASH)
        with uow() as work:
            work.users.add(user)
            work.commit()

    def checkout(n: int) -> None:
        user_id = n % args.users + 1
        carts.add_to_cart(user_id, rng.randrange(1, args.products + 1))
        carts.checkout(user_id)

    def plain(n: int) -> None:
        cur.execute("BEGIN")
        cur.execute("SELECT id FROM products WHERE id = %s", (n % args.products + 1,))
        cur.execute("COMMIT")

    def with_set_local(n: int) -> None:
        cur.execute("BEGIN")
        cur.execute(
            "SET LOCAL statement_timeout = 10000;"
            " SET LOCAL idle_in_transaction_session_timeout = 5000"
        )
        cur.execute("SELECT id FROM products WHERE id = %s", (n % args.products + 1,))
        cur.execute("COMMIT")

    def close() -> None:
        raw.close()
        pool.close()

    return close, {
        "point read (get product)": point_read,
        "insert user + commit": insert,
        "add to cart + checkout": checkout,
        "BEGIN; SELECT; COMMIT (raw)": plain,
        "  + SET LOCAL timeouts (raw)": with_set_local,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("direct", help="the server's maintenance database URL")
    parser.add_argument("pooled", help="the same server's maintenance database via PgBouncer")
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    direct = recreate(args.direct, DATABASE)
    add_products(direct, args.products, random.Random(args.seed))
    add_users_and_carts(direct, args.users, 1, random.Random(args.seed))
    settle(direct)
    pooled = _with_database(args.pooled, DATABASE)
    modes = {"direct": (direct, False), "pgbouncer (transaction)": (pooled, True)}
    results: dict[str, dict[str, list[float]]] = {mode: {} for mode in modes}
    try:
        made = {mode: workloads(url, is_pooled, args) for mode, (url, is_pooled) in modes.items()}
        try:
            # Every workload in both modes in each repeat: load from elsewhere hits all alike.
            for repeat in range(args.repeats):
                for name in made["direct"][1]:
                    for mode, (_, steps) in made.items():
                        got = rate(steps[name], args.seconds, repeat * 1_000_000)
                        results[mode].setdefault(name, []).append(got)
        finally:
            for close, _ in made.values():
                close()
    finally:
        with psycopg.connect(args.direct, autocommit=True) as conn:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(drop.format(sql.Identifier(DATABASE)))
    print(
        f"{'ops/s (median of ' + str(args.repeats) + ')':34}" + "".join(f"{k:>26}" for k in results)
    )
    for workload in results["direct"]:
        cells = "".join(f"{round(statistics.median(r[workload])):>26,}" for r in results.values())
        print(f"{workload:34}{cells}")


if __name__ == "__main__":
    main()
