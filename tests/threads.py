"""Run test workers in threads and re-raise the first failure in the test's own thread."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor


def run_all(workers: Sequence[Callable[[], None]]) -> None:
    with ThreadPoolExecutor(len(workers)) as pool:
        for future in [pool.submit(worker) for worker in workers]:
            future.result()
