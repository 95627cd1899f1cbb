"""Run test workers concurrently, as threads or, where they are coroutines, as tasks of the
test's event loop, and re-raise the first failure in the test itself; a Barrier of the same
kind lets them start together."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

if True:  # ASYNC
    from asyncio import Barrier
else:
    from threading import Barrier

__all__ = ["Barrier", "run_all"]


class AsyncWorker(Protocol):
    """A test's worker: called with nothing, it returns once its part is done."""

    async def __call__(self) -> None: ...


async def run_all(workers: Sequence[AsyncWorker]) -> None:
    """Start every worker, wait for all of them, then raise the first failure in the order of
    `workers` (none is cut short by another's failure, as with threads)."""
    if True:  # ASYNC
        outcomes = await asyncio.gather(*(worker() for worker in workers), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
    else:
        with ThreadPoolExecutor(len(workers)) as pool:
            for future in [pool.submit(worker) for worker in workers]:
                future.result()
