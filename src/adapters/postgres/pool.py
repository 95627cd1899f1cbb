"""The connection pool: settings, session parameters, deadlines, and a check that replaces
stale connections all at once after a server restart."""

from __future__ import annotations

import logging
import select
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast, overload

import psycopg
from psycopg_pool import ConnectionPool

from adapters.postgres.deadlines import Watchdog
from adapters.postgres.dependency_internals import newest_first

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
    statement_timeout_ms: int = 10_000
    idle_in_transaction_timeout_ms: int = 5_000
    # New connections: libpq's connect_timeout (whole seconds, at least 2, as libpq demands).
    connect_timeout: int = 5
    # A statement gets statement_timeout plus this before the client gives up on the server.
    deadline_margin: float = 2.0
    # A connection back in the pool for less than this is handed out unchecked: one in steady
    # use is alive, and checking it would add a round trip to every unit of work.
    check_after_idle: float = 0.25
    # Hand out the connection given back last (see LifoConnectionPool); False: round robin.
    lifo: bool = True
    connection_class: type[psycopg.Connection[Any]] = psycopg.Connection
    # Behind a transaction pooler (PgBouncer pool_mode=transaction): no startup options and no
    # server-side prepared statements, as consecutive transactions may run on different
    # backends. The timeouts then come from the role's defaults (`shopdb pooler-timeouts`) and
    # the client-side deadlines, which hold either way.
    transaction_pooler: bool = False
    # The liveness check of an idle connection gives up after this (seconds); None: after
    # connect_timeout. Replicas take a short one, so that a frozen one is skipped quickly.
    check_timeout: float | None = None
    name: str = "shopdb"  # psycopg_pool's name for it, in its logs
    # A failed connection attempt is tried again every 50 ms for this long (seconds) before
    # it fails. For a multi-host URL during a failover: psycopg_pool waits 1, 2, 4 s... between
    # failed attempts, so without this a standby promoted at 3.8 s was first used at ~7 s.
    connect_retry: float = 0.0


@dataclass(frozen=True)
class Deadlines:
    """How long a caller can wait on the database, derived from the settings (seconds)."""

    statement: float | None  # None: statement_timeout is off, so is the client's deadline
    check: float  # a liveness check of an idle connection
    idle_in_transaction: float  # the server's idle_in_transaction_session_timeout; 0: off
    copy: float | None  # how long one COPY of a bulk import stays open: half statement_timeout
    watchdog: Watchdog = field(compare=False)

    @staticmethod
    def of(config: PoolConfig) -> Deadlines:
        statement = None
        if config.statement_timeout_ms > 0:
            statement = config.statement_timeout_ms / 1000 + config.deadline_margin
        idle = config.idle_in_transaction_timeout_ms / 1000
        copy = config.statement_timeout_ms / 2000 if config.statement_timeout_ms > 0 else None
        check = config.check_timeout
        if check is None:
            check = float(config.connect_timeout)
        return Deadlines(statement, check, idle, copy, Watchdog())


class ShopdbPool(ConnectionPool[Any]):
    """psycopg_pool's pool, carrying the deadlines its units of work keep and the last reason a
    new connection was refused (psycopg_pool only logs it)."""

    deadlines: Deadlines
    last_connect_error: str | None = None

    def open(self, wait: bool = False, timeout: float = 30.0) -> None:
        self.deadlines.watchdog.start()
        super().open(wait=wait, timeout=timeout)

    def close(self, timeout: float = 5.0) -> None:
        self.deadlines.watchdog.stop()
        super().close(timeout=timeout)


# The cursor a connection's units of work use: of psycopg's sync or async kind.
C = TypeVar("C", psycopg.Cursor[Any], psycopg.AsyncCursor[Any])
AnyConnection = psycopg.Connection[Any] | psycopg.AsyncConnection[Any]


class Tended(Generic[C]):
    """What shopdb keeps with each connection for its whole life: the cursor the units of work
    run their statements on, when a unit of work last gave it back, and a poller on its socket;
    while observed, the probed cursor and the server's attributes (probe.py).
    """

    __slots__ = ("_poller", "cursor", "probed", "returned_at", "server")

    def __init__(self, conn: AnyConnection) -> None:
        self.cursor: C = cast(C, conn.cursor())
        self.returned_at = -1e9
        self.probed: C | None = None
        self.server: dict[str, Any] | None = None
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


class Tending:
    """Mixed into the connection class of every pool made here (see `_recording`): the
    connection carries its `Tended`, and it goes with the connection."""

    shopdb_tended: Tended[Any] | None = None


@overload
def tended(conn: psycopg.Connection[Any]) -> Tended[psycopg.Cursor[Any]]: ...


@overload
def tended(conn: psycopg.AsyncConnection[Any]) -> Tended[psycopg.AsyncCursor[Any]]: ...


def tended(conn: AnyConnection) -> Tended[Any]:
    """The connection's `Tended`, made on first use and kept on a connection of a pool made
    here; a connection of another class gets a new one each time."""
    found: Tended[Any] | None = getattr(conn, "shopdb_tended", None)
    if found is None:
        found = Tended[Any](conn)
        if isinstance(conn, Tending):
            conn.shopdb_tended = found
    return found


def give_back(
    pool: ConnectionPool[Any],
    conn: psycopg.Connection[Any],
    alive_at: float = 0.0,
    state: Tended[Any] | None = None,
) -> None:
    """Return `conn` to `pool`, noting for the liveness check when it was last known alive:
    `alive_at`, the time of the server's last answer on it, if the caller has one (0.0: the
    time now); `state`, its `Tended` if the caller holds it. (Not the pool's `reset` hook: with
    one, psycopg_pool hands every returned connection to a worker thread first.)"""
    (state or tended(conn)).returned_at = alive_at or time.monotonic()
    pool.putconn(conn)


# Hands out the connection given back last, as PgBouncer does by default and SQLAlchemy's
# `pool_use_lifo` does. In steady use the same few server backends do the work and stay hot in
# the CPU's caches, and the connections beyond what the load needs sit idle, so `max_idle` can
# close them; shrinking still closes the connection idle the longest. psycopg_pool has no public
# hook for the order: without the private one (dependency_internals), connections go in turn.
LifoConnectionPool = newest_first(ShopdbPool)


class StaleConnectionGuard:
    """The pool's `check` hook. A connection that sat idle, or whose socket has something to
    read, is checked with a round trip before it is handed out.
    When one turns out dead (the server restarted), the others are too: check them all now,
    in the background, instead of letting each caller find one more (the pool backs off
    exponentially per failed check)."""

    def __init__(self, check_after_idle: float, deadlines: Deadlines) -> None:
        self.pool: ConnectionPool[Any] | None = None
        self.check_after_idle = check_after_idle
        self.deadlines = deadlines
        self._sweeping = threading.Lock()

    def __call__(self, conn: psycopg.Connection[Any]) -> None:
        state = tended(conn)
        recent = time.monotonic() - state.returned_at < self.check_after_idle
        if recent and not state.input_waiting():
            return
        # Bounded: a frozen server would otherwise hold the caller here with no limit.
        watchdog = self.deadlines.watchdog
        watchdog.watch(conn, self.deadlines.check)
        try:
            ConnectionPool.check_connection(conn)
        except Exception:
            self._sweep()
            raise
        finally:
            watchdog.done(conn)

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


def _recording(
    connection_class: type[psycopg.Connection[Any]], pool: list[ShopdbPool], retry: float = 0.0
) -> type[psycopg.Connection[Any]]:
    """`connection_class`, noting on the pool why a new connection failed, so that running out
    of connections can say why ("too many clients", a password, a name that does not resolve);
    a failed attempt is made again every 50 ms for `retry` seconds first."""

    class Recording(connection_class, Tending):  # type: ignore[valid-type,misc]
        @classmethod
        def connect(cls, *args: Any, **kwargs: Any) -> Any:
            give_up = time.monotonic() + retry
            try:
                while True:
                    try:
                        return super().connect(*args, **kwargs)
                    except psycopg.OperationalError:
                        if time.monotonic() + 0.05 > give_up or (pool and pool[0].closed):
                            raise
                        time.sleep(0.05)
            except psycopg.Error as exc:
                if pool:
                    pool[0].last_connect_error = refusal(exc)
                raise

    Recording.__name__ = Recording.__qualname__ = connection_class.__name__
    return Recording


def refusal(exc: psycopg.Error) -> str:
    """Why a new connection failed, in one line, for the pool to tell its callers."""
    reason = " ".join(str(exc).split()) or type(exc).__name__
    if "unsupported startup parameter" in reason:  # PgBouncer's words
        reason += " (behind a transaction pooler: set SHOPDB_POOLER=transaction)"
    return reason


def connect_kwargs(config: PoolConfig) -> dict[str, Any]:
    """libpq parameters of every connection. Keepalives and `tcp_user_timeout` find a peer that
    vanished (host down, network cut) within ~20 s where TCP alone takes minutes;
    `client_connection_check_interval` lets the server end a backend whose client has gone
    (PostgreSQL 14 and later). Behind a transaction pooler: no `options` (PgBouncer refuses
    the connection: "unsupported startup parameter: options"), and psycopg never prepares
    (a statement prepared on one backend is missing on the next, or already there)."""
    kwargs: dict[str, Any] = {
        "autocommit": True,
        "application_name": config.application_name,
        "connect_timeout": max(2, int(config.connect_timeout)),
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 3,
        "keepalives_count": 3,
        "tcp_user_timeout": 20_000,
    }
    if config.transaction_pooler:
        kwargs["prepare_threshold"] = None
    else:
        kwargs["options"] = " ".join(
            f"-c {name}={value}" for name, value in session_timeouts(config).items()
        )
    return kwargs


def session_timeouts(config: PoolConfig) -> dict[str, int]:
    """The server settings shopdb wants on every session: at connection start directly, as
    the role's defaults behind a transaction pooler."""
    return {
        "statement_timeout": int(config.statement_timeout_ms),
        "idle_in_transaction_session_timeout": int(config.idle_in_transaction_timeout_ms),
        "client_connection_check_interval": 1000,
    }


def quiet_library_logs() -> None:
    """Keep psycopg's own records in its logger tree. psycopg_pool logs a WARNING for each
    failed attempt to connect (dozens while a server is down), and with no handler anywhere
    Python's last resort prints every one on stderr before our one error arrives. A
    NullHandler on `psycopg` counts as a handler, so the last resort stays silent; records
    still propagate to whatever handlers the application configured."""
    library = logging.getLogger("psycopg")
    if not any(isinstance(handler, logging.NullHandler) for handler in library.handlers):
        library.addHandler(logging.NullHandler())


def pool_settings(config: PoolConfig) -> dict[str, Any]:
    """psycopg_pool's arguments from `config`, the same for the sync and the async pool (the
    connection class and the check are each side's)."""
    return {
        "kwargs": connect_kwargs(config),
        "min_size": config.min_size,
        "max_size": config.max_size,
        "timeout": config.timeout,
        "max_waiting": config.max_waiting,
        "max_idle": config.max_idle,
        "max_lifetime": config.max_lifetime,
        "reconnect_timeout": config.reconnect_timeout,
        "name": config.name,
        "open": False,
    }


def create_pool(config: PoolConfig, *, open_now: bool = True) -> ShopdbPool:
    """A pool of autocommit connections (units of work issue BEGIN themselves, only when they
    write) with the configured timeouts set on every session."""
    quiet_library_logs()
    deadlines = Deadlines.of(config)
    guard = StaleConnectionGuard(config.check_after_idle, deadlines)
    kind = LifoConnectionPool if config.lifo else ShopdbPool
    made: list[ShopdbPool] = []
    pool = kind(
        config.conninfo,
        connection_class=_recording(config.connection_class, made, config.connect_retry),
        check=guard,
        **pool_settings(config),
    )
    pool.deadlines = deadlines
    made.append(pool)
    guard.pool = pool
    if open_now:
        pool.open(wait=False)
    return pool
