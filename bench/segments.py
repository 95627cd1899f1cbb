"""A point read through a unit of work, timed in its four parts: entry, taking the
repository, the `get`, exit (µs, median of the repeats), client and server on core 0.

    python -m bench.segments URL [--calls 5000] [--repeats 5] [--keys 5000] [--tree DIR]

URL is a database the bench seeded. `--tree DIR` times the code of another checkout (its src/
comes first on the path), to see in which part two versions differ."""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import psutil

HERE = Path(__file__).resolve().parent.parent
PARTS = ("entry", "repository", "get", "exit")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.segments")
    parser.add_argument("url")
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keys", type=int, default=5000, help="products read in turn")
    parser.add_argument("--tree", type=Path, default=HERE)
    args = parser.parse_args()
    sys.path[:0] = [str(args.tree / "src")]
    from adapters.postgres.pool import PoolConfig, create_pool
    from adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory

    pool = create_pool(PoolConfig(conninfo=args.url, min_size=1, max_size=1, timeout=30))
    pool.wait()
    uow: Any = PostgresUnitOfWorkFactory(pool)
    placed = _pin()
    try:
        _timed(uow, args.calls // 5 + 1, args.keys)  # warm-up
        runs = [_timed(uow, args.calls, args.keys) for _ in range(args.repeats)]
    finally:
        _unpin(placed)
        pool.close()
    medians = [statistics.median(run[i] for run in runs) for i in range(len(PARTS))]
    parts = "  ".join(f"{name} {value:.2f}" for name, value in zip(PARTS, medians, strict=True))
    print(f"{args.tree}: {parts}  total {sum(medians):.2f} µs")


def _pin() -> dict[psutil.Process, list[int]]:
    """This process and every PostgreSQL process on core 0; returns where the latter were."""
    os.sched_setaffinity(0, {0})
    placed: dict[psutil.Process, list[int]] = {}
    for process in psutil.process_iter(["name"]):
        if process.info["name"] in {"postgres", "postmaster"}:
            with contextlib.suppress(psutil.Error, OSError):
                placed[process] = process.cpu_affinity()
                process.cpu_affinity([0])
    return placed


def _unpin(placed: dict[psutil.Process, list[int]]) -> None:
    for process, cores in placed.items():
        with contextlib.suppress(psutil.Error, OSError):
            process.cpu_affinity(cores)


def _timed(uow: Any, calls: int, keys: int) -> list[float]:
    now = time.perf_counter_ns
    spent = [0, 0, 0, 0]
    for n in range(calls):
        start = now()
        work = uow(read_only=True)
        work.__enter__()
        entered = now()
        products = work.products
        taken = now()
        products.get(1 + n % keys)
        got = now()
        work.__exit__(None, None, None)
        done = now()
        spent[0] += entered - start
        spent[1] += taken - entered
        spent[2] += got - taken
        spent[3] += done - got
    return [total / calls / 1000 for total in spent]


if __name__ == "__main__":
    main()
