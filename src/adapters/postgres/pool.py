"""The connection pool: settings, session parameters, and a check that replaces stale
connections all at once after a server restart."""

from __future__ import annotations

import logging
import select
import threading
import time
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
    # Hand out the connection given back last (see LifoConnectionPool); False: round robin.
    lifo: bool = True
    connection_class: type[psycopg.Connection[Any]] = psycopg.Connection


class Tended:
    """What shopdb keeps with each connection for its whole life: the cursor the units of work
    run their statements on, when a unit of work last gave it back, and a poller on its socket.
    """

    __slots__ = ("_poller", "cursor", "returned_at")

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.cursor: psycopg.Cursor[Any] = conn.cursor()
        self.returned_at = -1e9
        self._poller: select.poll | None = None
        try:
            poller = select.poll()
            poller.register(conn.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
            self._poller = poller
        except (OSError, ValueError, psycopg.Error):
            pass  # no socket: input_waiting() says so

    def input_waiting(self) -> bool:
        """Whether the idle connection has something to read: it should have nothing, so this
        means the server sent a FATAL (a terminated backend, a shutdown) or closed the socket.
        Costs a system call, no round trip."""
        try:
            return self._poller is None or bool(self._poller.poll(0))
        except OSError:
            return True


_TENDED = "_shopdb_tended"


def tended(conn: psycopg.Connection[Any]) -> Tended:
    """The connection's `Tended`, made on first use (a connection's attributes live as long as
    it does, and go with it)."""
    attributes = conn.__dict__
    found: Tended | None = attributes.get(_TENDED)
    if found is None:
        found = attributes[_TENDED] = Tended(conn)
    return found


def give_back(pool: ConnectionPool[Any], conn: psycopg.Connection[Any]) -> None:
    """Return `conn` to `pool`, noting the time for the liveness check. (Not the pool's `reset`
    hook: with one, psycopg_pool hands every returned connection to a worker thread first.)"""
    tended(conn).returned_at = time.monotonic()
    pool.putconn(conn)


class LifoConnectionPool(ConnectionPool[Any]):
    """Hands out the connection given back last, as PgBouncer does by default and SQLAlchemy's
    `pool_use_lifo` does. In steady use the same few server backends do the work and stay hot
    in the CPU's caches (a point read through a pool of 8: 73 µs against 85 µs round robin,
    client and server on one core), and the connections beyond what the load needs sit idle,
    so `max_idle` can close them.

    psycopg_pool takes ready connections from the left of its deque and gives them back on the
    right; turning the newest to the front, under the pool's lock, keeps the rest in order, so
    shrinking still closes the connection idle the longest. A test holds both behaviours."""

    def _get_ready_connection(self, timeout: float | None) -> Any:
        ready = self._pool
        if len(ready) > 1:
            ready.rotate(1)
        return super()._get_ready_connection(timeout)


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
        state = tended(conn)
        recent = time.monotonic() - state.returned_at < self.check_after_idle
        if recent and not state.input_waiting():
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
    kind = LifoConnectionPool if config.lifo else ConnectionPool
    pool: ConnectionPool[Any] = kind(
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
