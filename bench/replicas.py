"""What read-your-writes costs: `python -m bench replicas PRIMARY REPLICA` (maintenance database
URLs of a primary and its streaming replica, e.g. from `.ci/replicas start`).

Prints µs per unit of work (median of repeats; each repeat runs every workload, so load from
elsewhere hits all alike) for a point read on the primary, on the replica with no check, on
the replica through the router with a causal token checked every time (the check's round
trip), and with the replica's answer still fresh (no round trip); and a write's commit with
and without the WAL position read in the COMMIT's round trip.

Then the share of reads the replica takes in a mixed workload: `--threads` threads through one
router with the default policy (as an application's), each doing either a write followed by a
read of it with read-your-writes (`--writes`, the share of such pairs) or a plain read with no
token; printed: the units of work of each kind, the stale reads among the reads after a write
(0 expected), and the read-only units of work served by the replica and by the primary, from
the router's counters."""

from __future__ import annotations

import argparse
import contextvars
import random
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql

from adapters.postgres import PoolConfig, PostgresUnitOfWorkFactory, create_pool
from adapters.postgres.replicas import Replica, ReplicaPolicy, Router
from bench.database import _with_database, add_products, recreate, settle
from domain.errors import UserNotFound
from domain.model import NewUser
from ports.causality import reading_after

DATABASE = "shopdb_bench_replicas"
PASSWORD_HASH = "$argon2id$v=19$m=8,t=1,p=1$YmVuY2g$YmVuY2g"  # noqa: S105 - not a secret


def per_op(step: Callable[[int], Any], seconds: float, start_at: int) -> float:
    """µs per call of `step` over `seconds`."""
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        step(start_at + done)
        done += 1
    return elapsed / done * 1e6


def mixed(
    primary_url: str,
    replica_url: str,
    *,
    threads: int,
    seconds: float,
    writes: float,
    products: int,
    seed: int,
) -> dict[str, int]:
    """The mixed workload; returns the counts it prints."""
    primary = create_pool(PoolConfig(conninfo=primary_url, min_size=threads, max_size=threads))
    replica = create_pool(PoolConfig(conninfo=replica_url, min_size=threads, max_size=threads))
    primary.wait()
    replica.wait()
    router = Router(primary, [Replica("replica", replica)], ReplicaPolicy())
    units = PostgresUnitOfWorkFactory(primary, router=router)
    counts = {"pairs": 0, "plain": 0, "stale": 0}
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def plain_read(rng: random.Random) -> None:
        with units(read_only=True) as work:
            work.products.get(rng.randrange(1, products + 1))

    def worker(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        pairs = plain = stale = 0
        while time.perf_counter() < stop:
            if rng.random() < writes:
                n = pairs
                new = NewUser(
                    username=f"mixed{number}x{n}",
                    email=f"m{number}x{n}@example.com",
                    password_hash=PASSWORD_HASH,
                )
                with units() as work:
                    user = work.users.add(new)
                    work.commit()
                try:  # in this context: its causal token is the commit's position
                    with units(read_only=True) as work:
                        work.users.get(user.id)
                except UserNotFound:
                    stale += 1
                pairs += 1
            else:
                contextvars.Context().run(plain_read, rng)  # no token
                plain += 1
        with lock:
            counts["pairs"] += pairs
            counts["plain"] += plain
            counts["stale"] += stale

    try:
        running = [
            threading.Thread(target=contextvars.Context().run, args=(worker, number))
            for number in range(threads)
        ]
        for thread in running:
            thread.start()
        for thread in running:
            thread.join()
        served = router.stats()
    finally:
        primary.close()
        replica.close()
    return {**counts, "by replica": served["replica"], "by primary": served["primary"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("primary", help="the primary's maintenance database URL")
    parser.add_argument("replica", help="its streaming replica's maintenance database URL")
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=4, help="threads of the mixed workload")
    parser.add_argument(
        "--writes", type=float, default=0.2, help="mixed: the share of write-then-read pairs"
    )
    args = parser.parse_args()
    primary_url = recreate(args.primary, DATABASE)
    add_products(primary_url, args.products, random.Random(args.seed))
    settle(primary_url)
    replica_url = _with_database(args.replica, DATABASE)
    for _ in range(200):  # the replica has the new database once it replayed its creation
        try:
            psycopg.connect(replica_url).close()
            break
        except psycopg.Error:
            time.sleep(0.05)
    config = PoolConfig(conninfo=primary_url, min_size=1, max_size=1, timeout=30)
    primary = create_pool(config)
    replica = create_pool(PoolConfig(conninfo=replica_url, min_size=1, max_size=1, timeout=30))
    primary.wait()
    replica.wait()
    rng = random.Random(args.seed)
    plain = PostgresUnitOfWorkFactory(primary)
    on_replica = PostgresUnitOfWorkFactory(replica)

    def routed(fresh_for: float) -> PostgresUnitOfWorkFactory:
        policy = ReplicaPolicy(fresh_for=fresh_for, max_lag=60.0, wait=1.0)
        return PostgresUnitOfWorkFactory(
            primary, router=Router(primary, [Replica("replica", replica)], policy)
        )

    checked, cached = routed(0.0), routed(3600.0)
    with psycopg.connect(primary_url) as conn:  # a token for every read: the position now
        row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
    token = str(row[0]) if row else None

    def read(units: PostgresUnitOfWorkFactory) -> Callable[[int], Any]:
        def step(n: int) -> None:
            with reading_after(token), units(read_only=True) as work:
                work.products.get(rng.randrange(1, args.products + 1))

        return step

    def insert(units: PostgresUnitOfWorkFactory, tag: str) -> Callable[[int], Any]:
        def step(n: int) -> None:
            user = NewUser(
                username=f"bench{tag}{n}",
                email=f"b{tag}{n}@example.com",
                password_hash=PASSWORD_HASH,
            )
            with units() as work:
                work.users.add(user)
                work.commit()

        return step

    steps = {
        "point read, primary": read(plain),
        "point read, replica, no check": read(on_replica),
        "point read, replica, token checked": read(checked),
        "point read, replica, token known replayed": read(cached),
        "insert + COMMIT": insert(plain, "p"),
        "insert + COMMIT; WAL position": insert(checked, "c"),
    }
    results: dict[str, list[float]] = {name: [] for name in steps}
    try:
        for repeat in range(args.repeats):
            for name, step in steps.items():
                took = contextvars.Context().run(per_op, step, args.seconds, repeat * 1_000_000)
                results[name].append(took)
        primary.close()
        replica.close()
        counts = mixed(
            primary_url,
            replica_url,
            threads=args.threads,
            seconds=args.seconds * args.repeats,
            writes=args.writes,
            products=args.products,
            seed=args.seed,
        )
    finally:
        primary.close()
        replica.close()
        with psycopg.connect(args.primary, autocommit=True) as conn:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(drop.format(sql.Identifier(DATABASE)))
    title = f"µs per unit of work (median of {args.repeats})"
    print(f"{title:44}{'median':>10}{'min':>10}")
    for name, times in results.items():
        print(f"{name:44}{statistics.median(times):>10.1f}{min(times):>10.1f}")
    reads = counts["by replica"] + counts["by primary"]
    share = counts["by replica"] / reads * 100 if reads else 0.0
    print(
        f"mixed, {args.threads} threads, {args.seconds * args.repeats:g} s:"
        f" {counts['pairs']} writes each read back with read-your-writes"
        f" ({counts['stale']} stale), {counts['plain']} plain reads;"
        f" reads served by replica {counts['by replica']} ({share:.1f}%),"
        f" by primary {counts['by primary']}"
    )
