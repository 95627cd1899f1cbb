# Generated from unit_of_work_async.py (tools/generate_sync.py): edit that instead.
"""The PostgreSQL unit of work: one pooled connection and at most one transaction at a time."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self, cast

import psycopg
from psycopg_pool import PoolTimeout

from adapters.aggregates import Repositories
from adapters.lifecycle import flags_refused
from adapters.postgres.constraints import BY_CONSTRAINT
from adapters.postgres.errors import translate
from adapters.postgres.pool import ShopdbPool, give_back, tended
from adapters.postgres.probe import Probe
from adapters.postgres.replicas import GUARD, Pending, Router
from adapters.postgres.session import Savepoint, Session
from adapters.telemetry import QUIET, Telemetry
from domain.errors import DomainError, StorageUnavailable, UnitOfWorkBusy, UnitOfWorkNotActive
from ports.unit_of_work import UnitOfWork, UnitOfWorkFactory


class _InactiveSession(Session):
    """Stands for the session before entry and after exit: every call refuses."""

    __slots__ = ()

    def __init__(self) -> None:  # no connection at all: only what the refusals read
        self.active = False
        self.busy = False
        self.read_only = True
        self.track = False
        self.probe = None
        self.started = self.last_answer = 0.0
        self.failed = self.blocked = None
        self.savepoints = []
        self.undos = 0
        self.autocommit = False
        self.written = False

    def abort(self) -> None:
        pass  # nothing began, so nothing to roll back; every use refuses already


_INACTIVE: Session = _InactiveSession()


class PostgresUnitOfWork(Repositories[Session], UnitOfWork):
    """Takes a connection from the pool on entry and gives it back on exit, never inside a
    transaction: whatever was not committed is rolled back first. Its repositories refuse
    every call before entry and after exit (UnitOfWorkNotActive)."""

    # Slots, each set in __init__ (see Session). Before entry the session is the inactive one,
    # whose repositories refuse every call.
    __slots__ = ("_autocommit", "_pool", "_read_only", "_router", "_telemetry")

    def __init__(
        self,
        pool: ShopdbPool,
        read_only: bool = False,
        autocommit: bool = False,
        telemetry: Telemetry = QUIET,
        router: Router | None = None,
    ) -> None:
        self._pool = pool
        self._router = router
        self._telemetry = telemetry
        self._read_only = read_only
        self._autocommit = autocommit
        self._session = _INACTIVE
        self._made = {}

    def __enter__(self) -> Self:
        if self._session is not _INACTIVE:
            # One block per unit of work: entered twice (the first connection would leak), or
            # again after exit (its repositories of the first block must stay refused).
            raise UnitOfWorkNotActive()
        router = self._router
        telemetry = self._telemetry
        pending: Pending | None = None
        try:
            if router is None:
                conn = self._pool.getconn()
            else:  # with replicas: a read-only unit of work may run on one of them
                # Unobserved, the replica's check goes with the first read (FirstRead).
                self._pool, conn, pending = router.checkout(
                    self._read_only, _PIPELINE and not telemetry.observing()
                )
        except (PoolTimeout, psycopg.Error) as exc:
            raise unavailable(self._pool, exc) from exc
        try:
            # Decided once per unit of work: unobserved, statements take the plain cursor.
            probe = Probe(telemetry, conn) if telemetry.observing() else None
            self._session = Session(  # by position: keywords cost more on the hot path
                conn,
                self._pool.deadlines,
                self._read_only,
                self._autocommit,
                probe,
                telemetry.slow,
                BY_CONSTRAINT,
                router is not None,  # with replicas, commits leave causal tokens
            )
        except BaseException:
            give_back(self._pool, conn)  # the connection would be lost to the pool
            raise
        if pending is not None:
            self._session.cur = cast(Any, FirstRead(self, pending))
        self._made = {}  # the repositories of this block, each made on first use
        return self

    def to_primary(self) -> None:
        """Moves the session, before its first read returned, from the replica's connection
        to one of the primary's (the replica could not serve it)."""
        router = self._router
        assert router is not None
        session = self._session
        try:  # first: without one, the session keeps the replica's, for the exit to give back
            conn = router.primary.getconn()
        except (PoolTimeout, psycopg.Error) as exc:
            raise unavailable(router.primary, exc) from exc
        session.in_flight.pop(session.conn, None)
        give_back(self._pool, session.conn)  # a broken one is discarded by the pool
        self._pool = router.primary
        deadlines = router.primary.deadlines
        session.conn, session.tended = conn, tended(conn)
        session.cur = session.tended.cursor
        session.deadlines, session.limit = deadlines, deadlines.statement
        session.watchdog, session.in_flight = deadlines.watchdog, deadlines.watchdog.in_flight

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self._session
        if not session.active:
            if session.busy:
                raise UnitOfWorkBusy()  # from inside add_many's iterable: the import goes on
            return
        session.active = False  # first: the repositories refuse from here on
        try:
            session.abort()
        finally:
            give_back(self._pool, session.conn, session.last_answer, session.tended)
            if session.probe is not None:
                session.probe.finish(self._kind(), exc_type)

    def _kind(self) -> str:
        if self._read_only:
            return "read-only"
        return "autocommit" if self._autocommit else "transaction"

    def commit(self) -> None:
        self._session.commit()

    def rollback(self) -> None:
        self._session.rollback()

    def savepoint(self) -> Savepoint:
        return Savepoint(self._session)


# psycopg's pipeline mode needs libpq 14 or newer.
_PIPELINE = psycopg.Pipeline.is_supported()


class FirstRead:
    """The session's cursor until the first statement of a read-only unit of work on a replica
    whose check is pending: that statement goes in one round trip with the check, the check
    first, as two statements (folded into one, the read's snapshot could be older than the
    replay position the check reads). The replica's answer stands when the check says it may
    serve; otherwise it is discarded: the read runs again on the replica once it has caught up
    (within the policy's `wait`), or on the primary. Anything else asked of the cursor before a
    statement runs the check alone first."""

    __slots__ = ("pending", "unit")

    def __init__(self, unit: PostgresUnitOfWork, pending: Pending) -> None:
        self.unit = unit
        self.pending = pending

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> psycopg.Cursor[Any]:
        return self._checked(query, params, kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._checked(None, None, {}), name)

    def _checked(self, query: Any, params: Any, kwargs: dict[str, Any]) -> psycopg.Cursor[Any]:
        unit, pending = self.unit, self.pending
        session = unit._session
        router, replica, target = pending.router, pending.replica, pending.target
        conn, cur = session.conn, session.tended.cursor
        session.cur = cur  # from here on, the session's own cursor
        guard = conn.cursor()
        watchdog = replica.pool.deadlines.watchdog
        watchdog.watch(conn, router.policy.deadline)  # the replica's deadline, not the read's
        verdict: bool | None = False
        again = False  # the read runs again on the replica, once it caught up
        try:
            try:
                with conn.pipeline():
                    guard.execute(GUARD)
                    if query is not None:
                        cur.execute(query, params, **kwargs)
            except psycopg.Error as exc:
                if not conn.broken and guard.pgresult is not None:
                    raise  # the check answered: the read's own error
                replica.skip(f"check failed: {_first_line(exc)}", router.policy.retry_after)
            else:
                verdict = router.record(replica, conn, guard.fetchone(), target)
                if verdict is None:  # behind: wait for it as a check of its own would
                    verdict = router._ready(replica, conn, target)
                    again = bool(verdict) and query is not None
        finally:
            watchdog.done(conn)
            if session.limit is not None and not conn.closed:  # the read's deadline again
                session.in_flight[conn] = (session.started + session.limit, session.limit)
        if again:
            cur.execute(query, params, **kwargs)
        if not verdict:
            router.moved(replica)
            unit.to_primary()
            if session.limit is not None:
                session.in_flight[session.conn] = (
                    session.started + session.limit,
                    session.limit,
                )
            if query is not None:
                session.cur.execute(query, params, **kwargs)
        return session.cur


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def unavailable(pool: ShopdbPool, exc: Exception) -> DomainError:
    """No connection: say why, with the server's own reason when it refused new ones."""
    error = translate(exc, {})
    reason = pool.last_connect_error
    if isinstance(exc, PoolTimeout) and reason:
        return StorageUnavailable(f"{error}; the last attempt to connect failed: {reason}")
    return error


class PostgresUnitOfWorkFactory:
    """Makes units of work over one connection pool (made by `create_pool`)."""

    def __init__(
        self, pool: ShopdbPool, telemetry: Telemetry = QUIET, router: Router | None = None
    ) -> None:
        """`router`: with one (even over no replicas), commits leave causal tokens and
        read-only units of work go where it sends them; `pool` is then its primary."""
        self.pool = pool
        self.telemetry = telemetry
        self.router = router

    def __call__(self, *, read_only: bool = False, autocommit: bool = False) -> PostgresUnitOfWork:
        if type(read_only) is not bool or type(autocommit) is not bool:
            raise flags_refused(read_only, autocommit)
        return PostgresUnitOfWork(self.pool, read_only, autocommit, self.telemetry, self.router)


# The classes' conformance to their ports: `mypy src` fails here when a port method is
# missing or its signature differs.
_conforms: type[UnitOfWork] = PostgresUnitOfWork
_makes: type[UnitOfWorkFactory] = PostgresUnitOfWorkFactory
