"""`python -m bench async`: the async workloads at 1, 16 and 64 concurrent tasks, through
shopdb's async services, raw psycopg (async pool) and asyncpg running the same SQL, and
SQLAlchemy's async ORM, side by side in one run on one database, each on a pool of the same
size; then the event loop's lag under registrations and checkouts, through the example shop
(bench/loop_lag.py).

    python -m bench async --database shopdb_bench_async     (a full `python -m bench` runs it too)

Each task loops over its share of a repeat's operations; a repeat's ops/s is all of them over
the time from the first start to the last end. Contestants are interleaved repeat by repeat, so
drift hits all alike; the table gives the median (and min-max) over the repeats and the ratio
to the psycopg async pool, then the ratios the targets name."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bench import async_report, loop_lag
from bench.async_contestants import Asyncpg, AsyncRawPool, AsyncShopdb, Contestant
from bench.async_orm import AsyncOrm
from bench.async_report import Results, label, report
from bench.database import BENCH_DATABASE, analyze, refill_carts, user_count

POOL = 8  # connections per contestant, as the sync table's
TASKS = [1, 16, 64]
ITEMS_PER_CART = 5
# Workload -> the contestants' method running one operation of it.
METHODS = ["get_product", "load_cart", "add_to_cart", "checkout"]
WORKLOADS = dict(zip(async_report.WORKLOADS, METHODS, strict=True))
KINDS: list[Callable[[str, int], Contestant]] = [AsyncShopdb, AsyncRawPool, AsyncOrm, Asyncpg]
LAG = "event-loop lag"
Keys = list[list[tuple[int, ...]]]  # per task, the arguments of each of its operations


def wanted(only: Sequence[str] | None, name: str) -> bool:
    """Whether `--only` asks for the async `name` (the word `async` asks for all of them)."""
    return not only or any(word in f"async {name}" for word in only)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tasks",
        type=int,
        nargs="+",
        default=TASKS,
        help="async workloads: numbers of concurrent tasks (checkout needs 4 x the largest users)",
    )
    parser.add_argument(
        "--lag-tasks",
        type=int,
        default=64,
        help="event-loop lag: registrations (real Argon2) and checkouts at once; 0: not measured",
    )


async def timed(work: Callable[..., Awaitable[Any]], keys: Keys) -> float:
    """Ops/s of one task per entry of `keys`, each running its operations one after another."""

    async def task(mine: list[tuple[int, ...]]) -> None:
        for arguments in mine:
            await work(*arguments)

    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for mine in keys:
            group.create_task(task(mine))
    return sum(map(len, keys)) / (time.perf_counter() - started)


class Measurement:
    def __init__(self, url: str, args: argparse.Namespace, contestants: list[Contestant]) -> None:
        self.url, self.args, self.contestants = url, args, contestants
        self.rng = random.Random(args.seed)
        users = args.users
        # Each contestant checks out its own slice of carts, refilled before every repeat
        # (cart ids are user ids in the seeded database).
        share = users // len(contestants)
        self.slices = {
            c.name: list(range(1 + i * share, 1 + (i + 1) * share))
            for i, c in enumerate(contestants)
        }

    def keys(self, workload: str, name: str, tasks: int) -> Keys:
        products, users, ops, rng = self.args.products, self.args.users, self.args.ops, self.rng
        if workload == "checkout + order":
            mine = self.slices[name]
            each = max(1, min(ops // 4, len(mine)) // tasks)
            if each * tasks > len(mine):
                sys.exit(f"checkout at {tasks} tasks needs --users of at least {4 * tasks}")
            return [[(user,) for user in mine[t * each : (t + 1) * each]] for t in range(tasks)]
        each = max(1, ops // tasks)
        if workload == "get product by id":
            return [[(rng.randrange(1, products + 1),) for _ in range(each)] for _ in range(tasks)]
        if workload == "load cart":
            return [[(rng.randrange(1, users + 1),) for _ in range(each)] for _ in range(tasks)]
        return [
            [(rng.randrange(1, users + 1), rng.randrange(1, products + 1)) for _ in range(each)]
            for _ in range(tasks)
        ]

    async def refill(self, carts: Sequence[int]) -> None:
        await asyncio.to_thread(refill_carts, self.url, list(carts), ITEMS_PER_CART, self.rng)

    async def once(self, workload: str, contestant: Contestant, tasks: int) -> float:
        keys = self.keys(workload, contestant.name, tasks)
        if workload == "checkout + order":
            await self.refill([user for mine in keys for (user,) in mine])
        return await timed(getattr(contestant, WORKLOADS[workload]), keys)

    async def workload(self, workload: str, results: Results) -> None:
        # Warm-up: a pass at the most tasks fills every pool and prepares every statement.
        for contestant in self.contestants:
            await self.once(workload, contestant, max(self.args.tasks))
        # Then statistics of the tables as the warm-up left them, which every contestant's
        # cached plans are made again from. Else the contestant first to run a statement keeps
        # the plan it made for the tables as seeded: with the orders table empty then, the
        # checkout's look-up of a prior order became a sequential scan on shopdb's
        # connections, slower with every order (0.15x of psycopg at 64 tasks).
        await asyncio.to_thread(analyze, self.url)
        for tasks in self.args.tasks:
            rates: dict[str, list[float]] = {c.name: [] for c in self.contestants}
            for _ in range(self.args.repeats):
                for contestant in self.contestants:
                    rates[contestant.name].append(await self.once(workload, contestant, tasks))
            rows = [(label(workload, tasks), name, found) for name, found in rates.items()]
            results.rows.extend(rows)
            report(rows)


async def measure(url: str, args: argparse.Namespace) -> Results:
    results = Results(levels=list(args.tasks))
    pool = getattr(args, "pool", POOL)
    workloads = [w for w in WORKLOADS if wanted(args.only, w)]
    if workloads:
        print(
            f"\nasync: {', '.join(map(str, args.tasks))} concurrent tasks, pools of {pool}"
            f" connections\n{'async workload':<34} {'contestant':<26} {'ops/s median':>11}"
            f" {'min - max':^25} vs psycopg async pool",
            flush=True,
        )
        contestants = [kind(url, pool) for kind in KINDS]
        for contestant in contestants:
            await contestant.open()
        measurement = Measurement(url, args, contestants)
        try:
            # Every cart back to its lines: cart loads read carts of the seeded size, whatever
            # ran on the database before.
            await measurement.refill(range(1, args.users + 1))
            for workload in workloads:
                await measurement.workload(workload, results)
        finally:
            for contestant in contestants:
                await contestant.close()
        results.print_ratios()
    if args.lag_tasks and wanted(args.only, LAG):
        results.lags = await lag(url, args, pool)
    return results


async def lag(url: str, args: argparse.Namespace, pool: int) -> list[loop_lag.Lag]:
    if args.users < args.lag_tasks:
        sys.exit(f"the event-loop lag's {args.lag_tasks} checkouts need as many --users")
    print(
        f"\n{LAG}: how late the example shop (examples/fastapi_shop, in process) answers"
        f" GET /ping, asked 1 ms after each answer, while {args.lag_tasks} registrations"
        f" (Argon2 as in production) and then {args.lag_tasks} checkouts run through it\n"
        f"{loop_lag.HEADER}",
        flush=True,
    )
    users = list(range(1, args.lag_tasks + 1))
    # Registered users are lag0, lag1, ...: numbered past every user, so a database kept
    # with --reuse takes another run.
    names = itertools.count(user_count(url))

    async def refill(carts: Sequence[int]) -> None:
        rng = random.Random(args.seed)
        await asyncio.to_thread(refill_carts, url, list(carts), ITEMS_PER_CART, rng)

    lags = await loop_lag.measure(url, pool, names, users, refill)
    for each in lags:
        print(each.line(), flush=True)
    return lags


def run(url: str, args: argparse.Namespace) -> Results:
    """The async workloads and the lag on `url`, already seeded (bench/__main__.py's `seeded`);
    `args` as `python -m bench` parses them."""
    return asyncio.run(measure(url, args))


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench async",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=10_000, help="users, each with a cart")
    parser.add_argument("--ops", type=int, default=1000, help="operations per repeat")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--database", default=BENCH_DATABASE, help="database to (re)create")
    parser.add_argument("--pool", type=int, default=POOL, help="connections per contestant")
    parser.add_argument("--only", nargs="*", help="run workloads whose name contains a word")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep a database an earlier run seeded the same way instead of seeding it again",
    )
    parser.add_argument(
        "--docs", metavar="PAGE", help="ignored: a full `python -m bench` writes the page"
    )
    add_arguments(parser)
    args = parser.parse_args()

    from bench.__main__ import seeded
    from shopdb.container import database_url
    from shopdb.settings import load_settings

    url = seeded(database_url(load_settings().with_embedded_default()), args.database,
                 args.products, args)  # fmt: skip
    results = run(url, args)
    print("\ntargets")
    for line in results.targets():
        print(line)
    if args.docs:
        print(f"\n{args.docs} not written: a full `python -m bench --docs PAGE` writes it")
