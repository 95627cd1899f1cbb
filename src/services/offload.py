"""Blocking, CPU-bound calls (password hashing) run off the event loop, a bounded number at once."""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from domain.errors import StorageUnavailable
from ports.hashing import PasswordHasher

P = ParamSpec("P")
T = TypeVar("T")

# Argon2id as configured (adapters/hashing.py) holds 64 MiB for ~400 ms per hash and releases the
# GIL, so threads hash in parallel, one per core at most; past four, each one adds 64 MiB of peak
# memory for callers that are better off waiting their turn.
HASHING_THREADS = min(4, os.cpu_count() or 1)
CLOSED = (
    "the threads of the container's async side were shut down (close_async): take services again"
)


class Offload:
    """A pool of at most `threads` threads that runs blocking calls for coroutines: that many
    run at once, the others wait in line, and the event loop goes on meanwhile. The threads
    start on first use and end with the pool (or `shutdown()`)."""

    __slots__ = ("_closed", "_pool")

    def __init__(self, *, threads: int, name: str = "offload") -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)
        self._closed = False

    async def run(self, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`call(*args, **kwargs)` in one of the threads. A cancelled caller stops waiting at
        once: a call still in line never runs; one already running finishes in its thread and
        its result is dropped (a thread cannot be interrupted)."""
        if self._closed:
            raise StorageUnavailable(CLOSED)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, functools.partial(call, *args, **kwargs))
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self._closed and task is not None and not task.cancelling():
                # Still in line when the threads were shut down: not this task's cancellation.
                raise StorageUnavailable(CLOSED) from None
            raise

    def shutdown(self) -> None:
        """Run nothing more: the calls in line are cancelled, those running finish; later
        calls raise StorageUnavailable."""
        self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)


class OffloadedHasher:
    """A password hasher whose calls are awaited: each runs in the threads of `offload`."""

    __slots__ = ("_hasher", "_offload")

    def __init__(self, hasher: PasswordHasher, offload: Offload) -> None:
        self._hasher = hasher
        self._offload = offload

    async def hash(self, password: str) -> str:
        return await self._offload.run(self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        return await self._offload.run(self._hasher.verify, password_hash, password)
