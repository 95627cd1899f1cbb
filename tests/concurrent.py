# Generated from concurrent_async.py (tools/generate_sync.py): edit that instead.
"""Run test workers concurrently, as threads or, where they are coroutines, as tasks of the
test's event loop, and re-raise the first failure in the test itself; a Barrier of the same
kind lets them start together."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Protocol

__all__ = ["Barrier", "run_all"]


class Worker(Protocol):
    """A test's worker: called with nothing, it returns once its part is done."""

    def __call__(self) -> None: ...


def run_all(workers: Sequence[Worker]) -> None:
    """Start every worker, wait for all of them, then raise the first failure in the order of
    `workers` (none is cut short by another's failure, as with threads)."""
    with ThreadPoolExecutor(len(workers)) as pool:
        for future in [pool.submit(worker) for worker in workers]:
            future.result()
