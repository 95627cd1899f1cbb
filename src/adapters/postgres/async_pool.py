"""The async connection pool: psycopg_pool's AsyncConnectionPool with what pool.py gives the sync
one: the same settings and session parameters, the deadlines (one watchdog thread per pool, no
timer per call), the liveness check of idle connections and the reason a new one was refused.
It is opened inside the application's event loop (`await open_pool_async(config)`)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from adapters.postgres.pool import (
    Deadlines,
    PoolConfig,
    Tended,
    Tending,
    pool_settings,
    quiet_library_logs,
    refusal,
    tended,
)
from domain.errors import StorageUnavailable

logger = logging.getLogger(__name__)


class AsyncShopdbPool(AsyncConnectionPool[Any]):
    """psycopg_pool's async pool, carrying the deadlines its units of work keep and the last
    reason a new connection was refused (psycopg_pool only logs it)."""

    deadlines: Deadlines
    last_connect_error: str | None = None
    # Opened by the first unit of work unless opened before (`open_on_first_use`): in the
    # event loop that uses it, which may not be running yet where the pool is made.
    open_on_first_use = False
    _opening: asyncio.Lock | None = None
    # The event loop it was opened in: its connections and workers live there, and a caller
    # on another loop would wait on futures that loop never wakes.
    _loop: asyncio.AbstractEventLoop | None = None

    async def open(self, wait: bool = False, timeout: float = 30.0) -> None:
        self.deadlines.watchdog.start()
        self.open_on_first_use = False
        self._loop = asyncio.get_running_loop()
        await super().open(wait=wait, timeout=timeout)

    async def getconn(self, timeout: float | None = None) -> psycopg.AsyncConnection[Any]:
        loop = self._loop
        if loop is not None and loop is not asyncio.get_running_loop():
            raise StorageUnavailable(
                "this async pool belongs to the event loop that opened it: use the container's"
                " async services from one loop, or close_async() it there and take them again"
            )
        if self.open_on_first_use:
            if self._opening is None:
                self._opening = asyncio.Lock()
            async with self._opening:
                if self.open_on_first_use:
                    await self.open()
        conn: psycopg.AsyncConnection[Any] = await super().getconn(timeout)
        return conn

    async def close(self, timeout: float = 5.0) -> None:
        self.deadlines.watchdog.stop()
        await super().close(timeout=timeout)


async def give_back_async(
    pool: AsyncConnectionPool[Any],
    conn: psycopg.AsyncConnection[Any],
    alive_at: float = 0.0,
    state: Tended[Any] | None = None,
) -> None:
    """Return `conn` to `pool` (see pool.give_back). A task cancelled while the pool takes its
    connection back (the pool rarely waits there: for its lock, or to roll back) still gives it
    back whole, in a task of its own, rather than leave the pool counting a connection no one
    holds. Not `asyncio.shield`, whose task would cost every unit of work a turn of the loop."""
    (state or tended(conn)).returned_at = alive_at or time.monotonic()
    try:
        await pool.putconn(conn)
    except asyncio.CancelledError:
        returning = asyncio.get_running_loop().create_task(pool.putconn(conn))
        _returning.add(returning)  # held until done: the loop keeps only a weak reference
        returning.add_done_callback(_returning.discard)
        raise


_returning: set[asyncio.Task[None]] = set()


class AsyncStaleConnectionGuard:
    """The pool's `check` hook (see pool.StaleConnectionGuard): a connection that sat idle, or
    whose socket has something to read, is checked with a round trip, under the watchdog; when
    one is dead, the pool checks all the others at once, in a task of its own."""

    def __init__(self, check_after_idle: float, deadlines: Deadlines) -> None:
        self.pool: AsyncConnectionPool[Any] | None = None
        self.check_after_idle = check_after_idle
        self.deadlines = deadlines
        self._sweep: asyncio.Task[None] | None = None

    async def __call__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        state = tended(conn)
        recent = time.monotonic() - state.returned_at < self.check_after_idle
        if recent and not state.input_waiting():
            return
        watchdog = self.deadlines.watchdog
        watchdog.watch(conn, self.deadlines.check)
        try:
            await AsyncConnectionPool.check_connection(conn)
        except Exception:
            self._sweep_all()
            raise
        finally:
            watchdog.done(conn)

    def _sweep_all(self) -> None:
        pool = self.pool
        if pool is None or (self._sweep is not None and not self._sweep.done()):
            return

        async def run() -> None:
            try:
                await pool.check()
            except Exception:  # the pool may be closing; nothing to sweep then
                logger.debug("stale connection sweep stopped", exc_info=True)

        self._sweep = asyncio.get_running_loop().create_task(run())


def _recording(
    connection_class: type[psycopg.AsyncConnection[Any]],
    pool: list[AsyncShopdbPool],
    retry: float = 0.0,
) -> type[psycopg.AsyncConnection[Any]]:
    """`connection_class`, noting on the pool why a new connection failed (see
    pool._recording); a failed attempt is made again every 50 ms for `retry` seconds first."""

    class Recording(connection_class, Tending):  # type: ignore[valid-type,misc]
        @classmethod
        async def connect(cls, *args: Any, **kwargs: Any) -> Any:
            give_up = time.monotonic() + retry
            try:
                while True:
                    try:
                        return await super().connect(*args, **kwargs)
                    except psycopg.OperationalError:
                        if time.monotonic() + 0.05 > give_up or (pool and pool[0].closed):
                            raise
                        await asyncio.sleep(0.05)
            except psycopg.Error as exc:
                if pool:
                    pool[0].last_connect_error = refusal(exc)
                raise

        async def cancel_safe(self, *, timeout: float = 30.0) -> None:
            # A task cancelled while its statement waits on the server has psycopg send the
            # server a cancel request and wait up to 5 s for it to take; a frozen server never
            # takes it. That wait ends with what is left of the call's deadline, when the
            # watchdog cuts the connection anyway.
            entry = pool[0].deadlines.watchdog.in_flight.get(self) if pool else None
            if entry is not None:
                timeout = min(timeout, max(entry[0] - time.monotonic(), 0.01))
            await super().cancel_safe(timeout=timeout)

    Recording.__name__ = Recording.__qualname__ = connection_class.__name__
    return Recording


def create_pool_async(
    config: PoolConfig,
    connection_class: type[psycopg.AsyncConnection[Any]] = psycopg.AsyncConnection,
) -> AsyncShopdbPool:
    """An async pool of autocommit connections with the configured timeouts on every session,
    not yet open: `await pool.open()` inside the event loop that uses it (or
    `open_pool_async`)."""
    quiet_library_logs()
    deadlines = Deadlines.of(config)
    guard = AsyncStaleConnectionGuard(config.check_after_idle, deadlines)
    made: list[AsyncShopdbPool] = []
    pool = AsyncShopdbPool(
        config.conninfo,
        connection_class=_recording(connection_class, made, config.connect_retry),
        check=guard,
        **pool_settings(config),
    )
    pool.deadlines = deadlines
    made.append(pool)
    guard.pool = pool
    return pool


async def open_pool_async(
    config: PoolConfig,
    connection_class: type[psycopg.AsyncConnection[Any]] = psycopg.AsyncConnection,
) -> AsyncShopdbPool:
    """`create_pool_async`, opened (connections are made in the background)."""
    pool = create_pool_async(config, connection_class)
    await pool.open(wait=False)
    return pool
