"""`make bench`: every workload through every contestant, in one process, on one database.

Prints ops/s (median and min-max over repeats) and the ratio of each contestant to raw psycopg
through a pool. Run `python -m bench --help` for the options; `python -m bench bulk ...` (or
`make bench BENCH_ARGS="bulk --rows N"`) runs the bulk import at scale instead (bench/bulk.py);
`python -m bench cart` the cart use cases at growing cart sizes (bench/cart_lines.py);
`python -m bench flash` checkouts of one hot product by hundreds of shoppers (bench/flash.py);
`python -m bench citus` each use case on one server and on a Citus cluster (bench/citus.py);
`python -m bench async` the async workloads alone (bench/async_tasks.py), which a full run
measures too, after the sync ones. With `--docs PAGE` (as `make bench` runs it) a full run also
writes its tables into the page's generated section (bench/page.py)."""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

from bench import page
from bench.contestants import Orm, RawConnection, RawPool, Shopdb
from bench.database import (
    BENCH_DATABASE,
    add_products,
    add_users_and_carts,
    mark_seeded,
    recreate,
    refill_carts,
    reusable,
    settle,
    user_count,
)
from shopdb.migrations import upgrade

if TYPE_CHECKING:
    from bench import async_report

ITEMS_PER_CART = 5


def pin(mode: str | None) -> None:
    """Place the client and every PostgreSQL process on cores.

    `same`: both on core 0. A round trip then costs a context switch (~27 us here) instead of a
    cross-core wake-up (~100 us on this kind of VM, and bimodal), so the table shows what each
    contestant costs in CPU. `split`: client on core 0, server on core 1. `None`: no pinning.
    Backends started later inherit the postmaster's placement."""
    every = list(range(os.cpu_count() or 1))
    client = every if mode is None else [0]
    server = every if mode is None else [1] if mode == "split" else [0]
    os.sched_setaffinity(0, set(client))
    for process in psutil.process_iter(["name"]):
        if process.info["name"] in {"postgres", "postmaster"}:
            with contextlib.suppress(psutil.Error, OSError):
                process.cpu_affinity(server)


class Run:
    def __init__(self, args: argparse.Namespace, url: str) -> None:
        self.args = args
        self.url = url
        self.rng = random.Random(args.seed)
        self.rows: list[tuple[str, str, list[float]]] = []
        self.targets: list[str] = []  # the summary's lines, as printed
        # Inserted users are bench0, bench1, ...: a database kept with --reuse holds those of
        # earlier runs, fewer than all its users, so numbering from that count is unique.
        self.names = itertools.count(user_count(url))

    def timed(self, ops: int, work: Callable[[int], Any]) -> float:
        started = time.perf_counter()
        for n in range(ops):
            work(n)
        return ops / (time.perf_counter() - started)

    def compare(
        self,
        workload: str,
        contestants: list[Any],
        make: Callable[[Any], Callable[[int], Any]],
        ops: int,
        repeats: int | None = None,
        before_repeat: Callable[[], None] | None = None,
        rows_per_op: int = 1,
    ) -> None:
        """Warm up, then interleave the contestants repeat by repeat so drift hits all alike."""
        self.side_by_side({workload: make}, contestants, ops, repeats, before_repeat, rows_per_op)

    def side_by_side(
        self,
        workloads: dict[str, Callable[[Any], Callable[[int], Any]]],
        contestants: list[Any],
        ops: int,
        repeats: int | None = None,
        before_repeat: Callable[[], None] | None = None,
        rows_per_op: int = 1,
    ) -> None:
        """`compare` for workloads whose ratio to each other matters: every contestant on every
        one of them, interleaved in the same repeats."""
        only = self.args.only
        workloads = {
            name: make
            for name, make in workloads.items()
            if not only or any(word in name for word in only)
        }
        runners = {
            (workload, c.name): make(c) for workload, make in workloads.items() for c in contestants
        }
        for runner in runners.values():
            if before_repeat:
                before_repeat()
            self.timed(max(1, ops // 10), runner)
        results: dict[tuple[str, str], list[float]] = {key: [] for key in runners}
        for _ in range(repeats or self.args.repeats):
            for key, runner in runners.items():
                if before_repeat:
                    before_repeat()
                results[key].append(self.timed(ops, runner) * rows_per_op)
        for (workload, name), rates in results.items():
            self.rows.append((workload, name, rates))
        for workload in workloads:
            self.report_workload(workload)

    def concurrent(self, workload: str, contestants: list[Any], threads: int, ops: int) -> None:
        if self.args.only and not any(word in workload for word in self.args.only):
            return
        results: dict[str, list[float]] = {c.name: [] for c in contestants}
        products, users = self.args.products, self.args.users
        pin(None)  # threads are meant to use every core
        for _ in range(self.args.repeats):
            for contestant in contestants:

                def reader(seed: int, c: Any = contestant) -> None:
                    rng = random.Random(seed)
                    for n in range(ops // threads):
                        kind = n % 3
                        if kind == 0:
                            c.get_product(rng.randrange(1, products + 1))
                        elif kind == 1:
                            c.get_user(f"user{rng.randrange(users)}@example.com")
                        else:
                            c.load_cart(rng.randrange(1, users + 1))

                workers = [threading.Thread(target=reader, args=(i,)) for i in range(threads)]
                started = time.perf_counter()
                for worker in workers:
                    worker.start()
                for worker in workers:
                    worker.join()
                results[contestant.name].append(
                    (ops // threads * threads) / (time.perf_counter() - started)
                )
        pin(self.args.pin)
        for name, rates in results.items():
            self.rows.append((workload, name, rates))
        self.report_workload(workload)

    def median(self, workload: str, name: str) -> float:
        """Median ops/s of `name` on the first workload whose name starts with `workload`."""
        return next(
            statistics.median(rates)
            for label, contestant, rates in self.rows
            if label.startswith(workload) and contestant == name
        )

    def report_workload(self, workload: str) -> None:
        rows = [r for r in self.rows if r[0] == workload]
        floor = next((statistics.median(r[2]) for r in rows if r[1] == RawPool.name), None)
        for _, name, rates in rows:
            median = statistics.median(rates)
            ratio = f"{median / floor:5.2f}x" if floor else "  -  "
            print(
                f"{workload:<34} {name:<26} {median:>11,.0f} "
                f"{min(rates):>11,.0f} - {max(rates):<11,.0f} {ratio}",
                flush=True,
            )


def main() -> None:
    if sys.argv[1:2] == ["bulk"]:
        from bench import bulk

        sys.argv[1:2] = []
        bulk.main()
        return
    if sys.argv[1:2] == ["replicas"]:
        from bench import replicas

        sys.argv[1:2] = []
        replicas.main()
        return
    if sys.argv[1:2] == ["citus"]:
        from bench import citus

        sys.argv[1:2] = []
        citus.main()
        return
    if sys.argv[1:2] == ["cart"]:
        from bench import cart_lines

        sys.argv[1:2] = []
        cart_lines.main()
        return
    if sys.argv[1:2] == ["flash"]:
        from bench import flash

        sys.argv[1:2] = []
        flash.main()
        return
    if sys.argv[1:2] == ["async"]:
        from bench import async_tasks

        sys.argv[1:2] = []
        async_tasks.main()
        return
    from bench import async_tasks

    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=10_000, help="users, each with a cart")
    parser.add_argument("--ops", type=int, default=1000, help="operations per repeat")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument(
        "--database",
        default=BENCH_DATABASE,
        help="name of the database to (re)create and fill; --growth adds one named NAME_grown",
    )
    parser.add_argument(
        "--pin",
        nargs="?",
        const="same",
        choices=["same", "split"],
        help="pin client and server to core 0 (same, the default) or to cores 0 and 1 (split);"
        " concurrent workloads always get every core",
    )
    parser.add_argument("--only", nargs="*", help="run workloads whose name contains a word")
    parser.add_argument(
        "--growth",
        type=int,
        metavar="N",
        help="instead: get and cart load on two databases, one of --products and one of N"
        " products (same users and carts), measured side by side",
    )
    parser.add_argument(
        "--search-rounds",
        type=int,
        default=3,
        help="with --growth: how many times the search mix runs per sort order and contestant",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep a database an earlier run seeded with the same --products, --users and --seed"
        " (migrated to head, vacuumed) instead of seeding it again",
    )
    parser.add_argument(
        "--docs",
        metavar="PAGE",
        type=Path,
        help="also write the table and the targets into PAGE's generated section (make bench:"
        " docs/performance.md); a run with --only or --growth writes nothing",
    )
    async_tasks.add_arguments(parser)
    arguments = sys.argv[1:]
    args = parser.parse_args()
    began = page.started()

    from shopdb.container import database_url
    from shopdb.settings import load_settings

    admin_url = database_url(load_settings().with_embedded_default())
    url = seeded(admin_url, args.database, args.products, args)
    grown = seeded(admin_url, f"{args.database}_grown", args.growth, args) if args.growth else ""
    pin(args.pin)
    described = describe(url, args)
    print(described, flush=True)
    print(f"{'workload':<34} {'contestant':<26} {'ops/s median':>11} {'min - max':^25} vs pool")
    if args.growth:
        growth(args, url, grown)
    else:
        run = everything(args, url)
        pin(None)  # the async workloads are concurrent: every core, as the threads get
        asynchronous = async_tasks.run(url, args)
        pin(args.pin)
        summary(run, asynchronous)
        if args.docs and not args.only:
            document(args.docs, run, began, described, arguments, asynchronous)
    if args.docs and (args.growth or args.only):
        print(f"\n{args.docs} not written: a run with --only or --growth is not the whole table")


def document(
    path: Path,
    run: Run,
    began: str,
    described: str,
    arguments: list[str],
    asynchronous: async_report.Results | None = None,
) -> None:
    """The run's medians and targets into the generated section of `path`."""
    medians = [(workload, name, statistics.median(rates)) for workload, name, rates in run.rows]
    contestants = [Shopdb.name, RawPool.name, RawConnection.name, Orm.name]
    tables = asynchronous.markdown() if asynchronous else ""
    body = "\n\n".join(
        [
            page.provenance(began, without_docs(arguments), described),
            page.table(medians, contestants, RawPool.name, "ops/s, median"),
            *([tables] if tables else []),
            "```text\ntargets\n" + "\n".join(run.targets) + "\n```",
        ]
    )
    page.write_section(path, "main", body)
    print(f"\nwritten into {path}")


def seeded(admin_url: str, database: str, products: int, args: argparse.Namespace) -> str:
    """A fresh database of `products` products and `args.users` users with full carts; with
    --reuse, the one an earlier run seeded the same way, if it is there."""
    started = time.perf_counter()
    recipe = f"{products} products, {args.users} users, seed {args.seed}"
    if args.reuse and (url := reusable(admin_url, database, recipe)):
        upgrade(url)
        settle(url)
        print(f"reused {database}: {products:,} products", flush=True)
        return url
    url = recreate(admin_url, database)
    rng = random.Random(args.seed)
    add_products(url, products, rng)
    add_users_and_carts(url, args.users, ITEMS_PER_CART, rng)
    settle(url)
    mark_seeded(url, database, recipe)
    print(
        f"seeded {database}: {products:,} products, {args.users:,} users and carts "
        f"x {ITEMS_PER_CART} items in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return url


def describe(url: str, args: argparse.Namespace) -> str:
    """What the numbers were measured on."""
    import platform

    import psycopg

    with psycopg.connect(url) as conn:
        version, buffers = (
            str(row[0]) if (row := conn.execute(f"SHOW {name}").fetchone()) else "?"
            for name in ("server_version", "shared_buffers")
        )
    placement = {
        None: "not pinned",
        "same": "client and server pinned to core 0",
        "split": "client on core 0, server on core 1",
    }[args.pin]
    return (
        f"PostgreSQL {version} (shared_buffers {buffers}),"
        f" Python {platform.python_version()}, {os.cpu_count()} cores, {placement};"
        f" {args.repeats} repeats of {args.ops:,} operations"
    )


def without_docs(arguments: list[str]) -> list[str]:
    """The command's arguments less `--docs PAGE`: the command that measured."""
    kept: list[str] = []
    skip = False
    for argument in arguments:
        if skip:
            skip = False
        elif argument == "--docs":
            skip = True
        elif not argument.startswith("--docs="):
            kept.append(argument)
    return kept


def everything(args: argparse.Namespace, url: str) -> Run:
    run = Run(args, url)
    shopdb, raw_pool, raw_conn, orm = (
        Shopdb(url, 8),
        RawPool(url, 8),
        RawConnection(url, 8),
        Orm(url, 8),
    )
    all_: list[Any] = [shopdb, raw_pool, raw_conn, orm]
    products, users, ops = args.products, args.users, args.ops
    rng = run.rng

    run.compare(
        "get product by id",
        all_,
        lambda c: lambda n: c.get_product(rng.randrange(1, products + 1)),
        ops,
    )
    run.compare(
        "get user by email",
        all_,
        lambda c: lambda n: c.get_user(f"user{rng.randrange(users)}@example.com"),
        ops,
    )

    def inserting(c: Any) -> Callable[[int], Any]:
        pending = [c.new_user(next(run.names)) for _ in range(ops * (args.repeats + 1))]
        return lambda n: c.insert_user(pending.pop())

    run.compare("insert user + commit", all_, inserting, ops // 2)
    run.compare(
        "load cart with items and prices",
        all_,
        lambda c: lambda n: c.load_cart(rng.randrange(1, users + 1)),
        ops,
    )
    run.compare(
        "add to cart",
        all_,
        lambda c: (
            lambda n: c.add_to_cart(rng.randrange(1, users + 1), rng.randrange(1, products + 1))
        ),
        ops,
    )

    # Each contestant checks out its own slice of carts, refilled before every repeat.
    slices = {
        c.name: list(range(1 + i * (users // 4), 1 + (i + 1) * (users // 4)))
        for i, c in enumerate(all_)
    }
    checkouts = min(ops // 4, users // 4)

    def refill() -> None:
        for carts in slices.values():
            refill_carts(url, carts[:checkouts], ITEMS_PER_CART, rng)

    run.compare(
        "checkout + order, 5-line cart",
        all_,
        lambda c: lambda n: c.checkout(slices[c.name][n]),
        checkouts,
        before_repeat=refill,
    )
    # The users just checked out have an order per repeat: a page of their history each.
    run.compare(
        "order history page (20)",
        all_,
        lambda c: lambda n: c.order_history(slices[c.name][n % checkouts]),
        ops,
    )

    with raw_conn.conn.cursor() as cur:
        row = cur.execute(
            'SELECT name, id FROM products ORDER BY name COLLATE "C", id LIMIT 1 OFFSET %s',
            (999 * 20 - 1,),
        ).fetchone()
    page_1000 = (row[0], row[1]) if row else None
    run.side_by_side(
        {
            "search page 1 (keyset)": lambda c: _each(c.pager(None)),
            "search page 1000 (keyset)": lambda c: _each(c.pager(page_1000)),
        },
        all_,
        ops,
    )
    run.compare(
        "search page 1000 (OFFSET)",
        [raw_pool, raw_conn, orm],
        lambda c: lambda n: c.offset_page(999 * 20),
        ops // 4,
    )

    rows = [
        (f"bulk {n}", None, Decimal(rng.randrange(99, 99_999)) / 100, 5) for n in range(products)
    ]
    prepared = {c.name: c.bulk_rows(rows) for c in all_}
    run.compare(
        f"bulk import {products:,} (rows/s)",
        all_,
        lambda c: lambda n: c.bulk_import(prepared[c.name]),
        1,
        repeats=3,
        rows_per_op=products,
    )
    run.compare(
        "COPY to a bare TEMP table (rows/s)",
        [raw_conn],
        lambda c: lambda n: c.copy_bare(rows),
        1,
        repeats=3,
        rows_per_op=products,
    )

    for threads in (2, 8):
        run.concurrent(f"{threads} threads, mixed reads", [shopdb, raw_pool, orm], threads, ops * 2)
    for contestant in all_:
        contestant.close()
    return run


def _each(work: Callable[[], Any]) -> Callable[[int], Any]:
    return lambda n: work()


def growth(args: argparse.Namespace, url: str, grown: str) -> None:
    """The same reads on the small and the grown database, interleaved repeat by repeat so that
    drift on the machine hits both sizes alike."""
    run = Run(args, url)
    sizes = {args.products: url, args.growth: grown}
    contestants: list[Any] = []
    products: dict[str, int] = {}  # of each contestant's database
    for kind in (Shopdb, RawPool):
        for size, database in sizes.items():
            contestant = kind(database, 8)
            contestant.name = f"{kind.name} @ {size:,}"
            products[contestant.name] = size
            contestants.append(contestant)
    if wanted(args, "get product by id load cart with items and prices"):
        reads(args, run, contestants, products, sizes)
    if wanted(args, "search"):
        searches(args, contestants, sizes)
    for contestant in contestants:
        contestant.close()


def wanted(args: argparse.Namespace, workloads: str) -> bool:
    return not args.only or any(word in workloads for word in args.only)


def reads(
    args: argparse.Namespace,
    run: Run,
    contestants: list[Any],
    products: dict[str, int],
    sizes: dict[int, str],
) -> None:
    users, ops, rng = args.users, args.ops, run.rng
    run.compare(
        "get product by id",
        contestants,
        lambda c: lambda n: c.get_product(rng.randrange(1, products[c.name] + 1)),
        ops,
    )
    run.compare(
        "load cart with items and prices",
        contestants,
        lambda c: lambda n: c.load_cart(rng.randrange(1, users + 1)),
        ops,
    )
    print()
    for workload in ("get product by id", "load cart with items and prices"):
        for kind in (Shopdb, RawPool):
            small, large = (run.median(workload, f"{kind.name} @ {size:,}") for size in sizes)
            cost = small / large
            verdict = ("met" if cost <= 1.2 else "MISSED") if kind is Shopdb else "(reference)"
            print(
                f"  {workload} through {kind.name}: at {args.growth:,} products it costs"
                f" {cost:.2f}x what it costs at {args.products:,}  (target <= 1.2x)  {verdict}"
            )


def searches(args: argparse.Namespace, contestants: list[Any], sizes: dict[int, str]) -> None:
    """The search mix through shopdb and the ORM, on both sizes."""
    from sqlalchemy import create_engine

    from bench import search
    from shopdb.migrations import sqlalchemy_url

    searchers: dict[int, list[search.Searcher]] = {size: [] for size in sizes}
    engines = []
    for contestant in contestants:
        if isinstance(contestant, Shopdb):
            size = next(s for s in sizes if contestant.name.endswith(f"@ {s:,}"))
            searchers[size].append(search.ShopdbSearch(contestant.uow))
    for size, database in sizes.items():
        engine = create_engine(sqlalchemy_url(database), pool_size=2, max_overflow=0)
        engines.append(engine)
        searchers[size].append(search.OrmSearch(engine))
    search.report(searchers, args.search_rounds, search.ShopdbSearch.name)
    for engine in engines:
        engine.dispose()


def summary(run: Run, asynchronous: async_report.Results | None = None) -> None:
    median = run.median
    targets = [
        ("get by id vs psycopg + pool", "get product", Shopdb.name, RawPool.name, 0.9, True),
        ("get by id vs ORM session.get", "get product", Shopdb.name, Orm.name, 5.0, True),
        ("insert + commit vs psycopg + pool", "insert user", Shopdb.name, RawPool.name, 0.9, True),
        ("cart load vs one-JOIN query", "load cart", Shopdb.name, RawPool.name, 0.9, True),
        ("cart load vs ORM selectinload", "load cart", Shopdb.name, Orm.name, 10.0, True),
        ("bulk import vs raw COPY", "bulk import", Shopdb.name, RawPool.name, 0.8, True),
        ("bulk import vs ORM bulk insert", "bulk import", Shopdb.name, Orm.name, 8.0, True),
    ]
    print("\ntargets")

    def say(line: str) -> None:
        print(line)
        run.targets.append(line)

    for label, workload, ours, theirs, target, higher in targets:
        try:
            ratio = median(workload, ours) / median(workload, theirs)
        except StopIteration:
            continue
        met = ratio >= target if higher else ratio <= target
        say(f"  {label:<36} {ratio:6.2f}x  (target >= {target}x)  {'met' if met else 'MISSED'}")
    try:
        # Recording the sale must not make checkout the slow path: a 5-line checkout with its
        # order against the simplest write there is, through shopdb in the same run.
        cost = median("checkout + order", Shopdb.name) / median("insert user", Shopdb.name)
        say(
            f"  {'5-line checkout + order vs insert':<36} {cost:6.2f}x  (target >= 0.5x)  "
            f"{'met' if cost >= 0.5 else 'MISSED'}"
        )
    except StopIteration:
        pass
    try:
        page_1 = median("search page 1 (keyset)", Shopdb.name)
        page_1000 = median("search page 1000 (keyset)", Shopdb.name)
        cost = page_1 / page_1000
        say(
            f"  {'keyset page 1000 cost vs page 1':<36} {cost:6.2f}x  (target <= 1.2x)  "
            f"{'met' if cost <= 1.2 else 'MISSED'}"
        )
    except StopIteration:
        pass
    for line in asynchronous.targets() if asynchronous else []:
        say(line)


if __name__ == "__main__":
    main()
