"""Direct against through a transaction pooler, in one run: `python -m bench.pooler DIRECT POOLED`.

DIRECT is the server's maintenance database, POOLED the same server through PgBouncer in
transaction mode (e.g. `.ci/pgbouncer start`). Prints ops/s (median of repeats) of shopdb's
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

from adapters.postgres import PoolConfig, PostgresUnitOfWorkFactory, create_pool
from bench.database import _with_database, add_products, add_users_and_carts, recreate, settle
from domain.model import NewUser
from services import CartService

DATABASE = "shopdb_bench_pooler"
PASSWORD_HASH = "$argon2id$v=19$m=8,t=1,p=1$YmVuY2g$YmVuY2g"  # noqa: S105 - not a secret


def rate(step: Callable[[int], Any], seconds: float, repeats: int) -> float:
    """Median ops/s over `repeats` runs of `seconds` each."""
    rates, n = [], 0
    for _ in range(repeats):
        done, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            step(n)
            n += 1
            done += 1
        rates.append(done / elapsed)
    return statistics.median(rates)


def shopdb_workloads(url: str, pooled: bool, args: argparse.Namespace) -> dict[str, float]:
    config = PoolConfig(conninfo=url, min_size=2, max_size=2, timeout=30, transaction_pooler=pooled)
    pool = create_pool(config)
    pool.wait()
    uow = PostgresUnitOfWorkFactory(pool)
    carts = CartService(uow)
    rng = random.Random(args.seed)
    tag = "p" if pooled else "d"
    try:

        def point_read(n: int) -> None:
            with uow(read_only=True) as work:
                work.products.get(rng.randrange(1, args.products + 1))

        def insert(n: int) -> None:
            user = NewUser(
                username=f"bench{tag}{n}",
                email=f"bench{tag}{n}@example.com",
                password_hash=PASSWORD_HASH,
            )
            with uow() as work:
                work.users.add(user)
                work.commit()

        def checkout(n: int) -> None:
            user_id = n % args.users + 1
            carts.add_to_cart(user_id, rng.randrange(1, args.products + 1))
            carts.checkout(user_id)

        return {
            "point read (get product)": rate(point_read, args.seconds, args.repeats),
            "insert user + commit": rate(insert, args.seconds, args.repeats),
            "add to cart + checkout": rate(checkout, args.seconds, args.repeats),
        }
    finally:
        pool.close()


def set_local_cost(url: str, args: argparse.Namespace) -> dict[str, float]:
    """A one-statement write transaction as is, and with the timeouts sent by SET LOCAL."""
    with psycopg.connect(url, autocommit=True, prepare_threshold=None) as conn:
        cur = conn.cursor()

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

        return {
            "BEGIN; SELECT; COMMIT": rate(plain, args.seconds, args.repeats),
            "  + SET LOCAL timeouts": rate(with_set_local, args.seconds, args.repeats),
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
    try:
        results = {
            "direct": shopdb_workloads(direct, False, args) | set_local_cost(direct, args),
            "pgbouncer (transaction)": shopdb_workloads(pooled, True, args)
            | set_local_cost(pooled, args),
        }
    finally:
        with psycopg.connect(args.direct, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")  # a constant name
    print(
        f"{'ops/s (median of ' + str(args.repeats) + ')':34}" + "".join(f"{k:>26}" for k in results)
    )
    for workload in results["direct"]:
        cells = "".join(f"{round(r[workload]):>26,}" for r in results.values())
        print(f"{workload:34}{cells}")


if __name__ == "__main__":
    main()
