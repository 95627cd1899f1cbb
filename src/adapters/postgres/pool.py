"""The connection pool: settings, session parameters, and a check that replaces stale
connections all at once after a server restart."""

from __future__ import annotations

import logging
import select
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class PoolConfig:
    conninfo: str = field(repr=False)  # may hold a password
    min_size: int = 2
    max_size: int = 10
    timeout: float = 10.0
    max_waiting: int = 0
    max_idle: float = 600.0
    max_lifetime: float = 3600.0
    reconnect_timeout: float = 300.0
    application_name: str = "shopdb"
    statement_timeout_ms: int = 30_000
    idle_in_transaction_timeout_ms: int = 60_000
    # A connection back in the pool for less than this is handed out unchecked: one in steady
    # use is alive, and checking it would add a round trip to every unit of work.
    check_after_idle: float = 0.25
    connection_class: type[psycopg.Connection[Any]] = psycopg.Connection


# When each connection was last given back by a unit of work. Not the pool's `reset` hook:
# with one, psycopg_pool hands every returned connection to a worker thread first.
_returned_at: weakref.WeakKeyDictionary[psycopg.Connection[Any], float] = (
    weakref.WeakKeyDictionary()
)


def give_back(pool: ConnectionPool[Any], conn: psycopg.Connection[Any]) -> None:
    """Return `conn` to `pool`, noting the time for the liveness check."""
    _returned_at[conn] = time.monotonic()
    pool.putconn(conn)


def _input_waiting(conn: psycopg.Connection[Any]) -> bool:
    """Whether an idle connection has something to read: it should have nothing, so this means
    the server sent a FATAL (a terminated backend, a shutdown) or closed the socket. Costs a
    system call, no round trip."""
    try:
        poller = select.poll()
        poller.register(conn.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(0))
    except (OSError, ValueError, psycopg.Error):
        return True


class StaleConnectionGuard:
    """The pool's `check` hook. A connection that sat idle, or whose socket has something to
    read, is checked with a round trip before it is handed out.
    When one turns out dead (the server restarted), the others are too: check them all now,
    in the background, instead of letting each caller find one more (the pool backs off
    exponentially per failed check)."""

    def __init__(self, check_after_idle: float) -> None:
        self.pool: ConnectionPool[Any] | None = None
        self.check_after_idle = check_after_idle
        self._sweeping = threading.Lock()

    def __call__(self, conn: psycopg.Connection[Any]) -> None:
        returned_at = _returned_at.get(conn)
        recent = returned_at is not None and time.monotonic() - returned_at < self.check_after_idle
        if recent and not _input_waiting(conn):
            return
        try:
            ConnectionPool.check_connection(conn)
        except Exception:
            self._sweep()
            raise

    def _sweep(self) -> None:
        pool = self.pool
        if pool is None or not self._sweeping.acquire(blocking=False):
            return

        def run() -> None:
            try:
                pool.check()
            except Exception:  # the pool may be closing; nothing to sweep then
                logger.debug("stale connection sweep stopped", exc_info=True)
            finally:
                self._sweeping.release()

        threading.Thread(target=run, name="shopdb-pool-sweep", daemon=True).start()


def create_pool(config: PoolConfig, *, open_now: bool = True) -> ConnectionPool[Any]:
    """A pool of autocommit connections (units of work issue BEGIN themselves, only when they
    write) with the configured timeouts set on every session."""
    guard = StaleConnectionGuard(config.check_after_idle)
    options = (
        f"-c statement_timeout={int(config.statement_timeout_ms)}"
        f" -c idle_in_transaction_session_timeout={int(config.idle_in_transaction_timeout_ms)}"
    )
    pool: ConnectionPool[Any] = ConnectionPool(
        config.conninfo,
        connection_class=config.connection_class,
        kwargs={
            "autocommit": True,
            "application_name": config.application_name,
            "options": options,
        },
        min_size=config.min_size,
        max_size=config.max_size,
        timeout=config.timeout,
        max_waiting=config.max_waiting,
        max_idle=config.max_idle,
        max_lifetime=config.max_lifetime,
        reconnect_timeout=config.reconnect_timeout,
        check=guard,
        name="shopdb",
        open=False,
    )
    guard.pool = pool
    if open_now:
        pool.open(wait=False)
    return pool
