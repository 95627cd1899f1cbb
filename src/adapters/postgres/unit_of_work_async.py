"""The PostgreSQL unit of work: one pooled connection and at most one transaction at a time."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self, cast

import psycopg
from psycopg_pool import PoolTimeout

from adapters.aggregates import Repositories
from adapters.lifecycle_async import flags_refused
from adapters.postgres.constraints import BY_CONSTRAINT
from adapters.postgres.errors import translate
from adapters.postgres.probe_async import Probe
from adapters.postgres.replicas_async import GUARD, AsyncRouter, Pending
from adapters.postgres.session_async import AsyncSavepoint, AsyncSession
from adapters.telemetry import QUIET, Telemetry
from domain.errors import DomainError, StorageUnavailable, UnitOfWorkBusy, UnitOfWorkNotActive
from ports.unit_of_work_async import AsyncUnitOfWork, AsyncUnitOfWorkFactory

if True:  # ASYNC
    import inspect

    from adapters.postgres.async_pool import AsyncShopdbPool, give_back_async
    from adapters.postgres.pool import tended
else:
    from adapters.postgres.pool import ShopdbPool, give_back, tended


class _InactiveSession(AsyncSession):
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

    async def abort(self) -> None:
        pass  # nothing began, so nothing to roll back; every use refuses already


_INACTIVE: AsyncSession = _InactiveSession()


class AsyncPostgresUnitOfWork(Repositories[AsyncSession], AsyncUnitOfWork):
    """Takes a connection from the pool on entry and gives it back on exit, never inside a
    transaction: whatever was not committed is rolled back first. Its repositories refuse
    every call before entry and after exit (UnitOfWorkNotActive)."""

    # Slots, each set in __init__ (see Session). Before entry the session is the inactive one,
    # whose repositories refuse every call.
    __slots__ = ("_autocommit", "_pool", "_read_only", "_router", "_telemetry")

    def __init__(
        self,
        pool: AsyncShopdbPool,
        read_only: bool = False,
        autocommit: bool = False,
        telemetry: Telemetry = QUIET,
        router: AsyncRouter | None = None,
    ) -> None:
        self._pool = pool
        self._router = router
        self._telemetry = telemetry
        self._read_only = read_only
        self._autocommit = autocommit
        self._session = _INACTIVE
        self._made = {}

    async def __aenter__(self) -> Self:
        if self._session is not _INACTIVE:
            # One block per unit of work: entered twice (the first connection would leak), or
            # again after exit (its repositories of the first block must stay refused).
            raise UnitOfWorkNotActive()
        router = self._router
        telemetry = self._telemetry
        pending: Pending | None = None
        try:
            if router is None:
                conn = await self._pool.getconn()
            else:  # with replicas: a read-only unit of work may run on one of them
                # Unobserved, the replica's check goes with the first read (AsyncFirstRead).
                self._pool, conn, pending = await router.checkout(
                    self._read_only, _PIPELINE and not telemetry.observing()
                )
        except (PoolTimeout, psycopg.Error) as exc:
            raise unavailable(self._pool, exc) from exc
        try:
            # Decided once per unit of work: unobserved, statements take the plain cursor.
            probe = Probe(telemetry, conn) if telemetry.observing() else None
            self._session = AsyncSession(  # by position: keywords cost more on the hot path
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
            await give_back_async(self._pool, conn)  # the connection would be lost to the pool
            raise
        if pending is not None:
            self._session.cur = cast(Any, AsyncFirstRead(self, pending))
        self._made = {}  # the repositories of this block, each made on first use
        return self

    async def to_primary(self) -> None:
        """Moves the session, before its first read returned, from the replica's connection
        to one of the primary's (the replica could not serve it)."""
        router = self._router
        assert router is not None
        session = self._session
        try:  # first: without one, the session keeps the replica's, for the exit to give back
            conn = await router.primary.getconn()
        except (PoolTimeout, psycopg.Error) as exc:
            raise unavailable(router.primary, exc) from exc
        session.in_flight.pop(session.conn, None)
        if True:  # ASYNC
            # Given back last: cancelled while its pool takes it, the session holds the
            # primary's connection already, which the exit gives back (and not this one twice).
            replica_pool, replica_conn = self._pool, session.conn
        else:
            give_back(self._pool, session.conn)  # a broken one is discarded by the pool
        self._pool = router.primary
        deadlines = router.primary.deadlines
        session.conn, session.tended = conn, tended(conn)
        session.cur = session.tended.cursor
        session.deadlines, session.limit = deadlines, deadlines.statement
        session.watchdog, session.in_flight = deadlines.watchdog, deadlines.watchdog.in_flight
        if True:  # ASYNC
            await give_back_async(replica_pool, replica_conn)  # a broken one is discarded

    async def __aexit__(
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
            await session.abort()
        finally:
            await give_back_async(self._pool, session.conn, session.last_answer, session.tended)
            if session.probe is not None:
                session.probe.finish(self._kind(), exc_type)

    def _kind(self) -> str:
        if self._read_only:
            return "read-only"
        return "autocommit" if self._autocommit else "transaction"

    async def commit(self) -> None:
        await self._session.commit()

    async def rollback(self) -> None:
        await self._session.rollback()

    def savepoint(self) -> AsyncSavepoint:
        return AsyncSavepoint(self._session)


# psycopg's pipeline mode needs libpq 14 or newer.
_PIPELINE = psycopg.AsyncPipeline.is_supported()


class AsyncFirstRead:
    """The session's cursor until the first statement of a read-only unit of work on a replica
    whose check is pending: that statement goes in one round trip with the check, the check
    first, as two statements (folded into one, the read's snapshot could be older than the
    replay position the check reads). The replica's answer stands when the check says it may
    serve; otherwise it is discarded: the read runs again on the replica once it has caught up
    (within the policy's `wait`), or on the primary. Anything else asked of the cursor before a
    statement runs the check alone first."""

    __slots__ = ("pending", "unit")

    def __init__(self, unit: AsyncPostgresUnitOfWork, pending: Pending) -> None:
        self.unit = unit
        self.pending = pending

    async def execute(
        self, query: Any, params: Any = None, **kwargs: Any
    ) -> psycopg.AsyncCursor[Any]:
        if True:  # ASYNC
            return await self._answered(query, params, kwargs)
        return self._checked(query, params, kwargs)

    def __getattr__(self, name: str) -> Any:
        if True:  # ASYNC
            return self._deferred(name)
        return getattr(self._checked(None, None, {}), name)

    if True:  # ASYNC

        async def _answered(
            self, query: Any, params: Any, kwargs: dict[str, Any]
        ) -> psycopg.AsyncCursor[Any]:
            """`_checked`. Cancelled before it returns while the session is still on the
            replica's connection, the session's cursor is this one again: the check is still
            pending, and goes with the next statement (which the session's own cursor would run
            on the replica unchecked)."""
            session = self.unit._session
            conn = session.conn
            try:
                return await self._checked(query, params, kwargs)
            except BaseException as exc:
                if not isinstance(exc, Exception) and session.conn is conn:
                    session.cur = cast(Any, self)
                raise

        def _deferred(self, name: str) -> Any:
            """The cursor's coroutine method `name`, run after the check (alone). Nothing
            else of the cursor can wait for the check: refused until a statement has run."""
            method = getattr(self.unit._session.tended.cursor, name)
            if not inspect.iscoroutinefunction(method):
                raise AttributeError(
                    f"cursor.{name} before the first statement of a unit of work on a replica:"
                    " run a statement first (its check is still to be sent)"
                )

            async def checked(*args: Any, **kwargs: Any) -> Any:
                cur = await self._answered(None, None, {})
                return await getattr(cur, name)(*args, **kwargs)

            return checked

    async def _checked(
        self, query: Any, params: Any, kwargs: dict[str, Any]
    ) -> psycopg.AsyncCursor[Any]:
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
                async with conn.pipeline():
                    await guard.execute(GUARD)
                    if query is not None:
                        await cur.execute(query, params, **kwargs)
            except psycopg.Error as exc:
                if not conn.broken and guard.pgresult is not None:
                    raise  # the check answered: the read's own error
                replica.skip(f"check failed: {_first_line(exc)}", router.policy.retry_after)
            else:
                verdict = await router.record(replica, conn, await guard.fetchone(), target)
                if verdict is None:  # behind: wait for it as a check of its own would
                    verdict = await router._ready(replica, conn, target)
                    again = bool(verdict) and query is not None
        finally:
            watchdog.done(conn)
            if session.limit is not None and not conn.closed:  # the read's deadline again
                session.in_flight[conn] = (session.started + session.limit, session.limit)
        if again:
            await cur.execute(query, params, **kwargs)
        if not verdict:
            router.moved(replica)
            await unit.to_primary()
            if session.limit is not None:
                session.in_flight[session.conn] = (
                    session.started + session.limit,
                    session.limit,
                )
            if query is not None:
                await session.cur.execute(query, params, **kwargs)
        return session.cur


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def unavailable(pool: AsyncShopdbPool, exc: Exception) -> DomainError:
    """No connection: say why, with the server's own reason when it refused new ones."""
    error = translate(exc, {})
    reason = pool.last_connect_error
    if isinstance(exc, PoolTimeout) and reason:
        return StorageUnavailable(f"{error}; the last attempt to connect failed: {reason}")
    return error


class AsyncPostgresUnitOfWorkFactory:
    """Makes units of work over one connection pool (made by `create_pool`)."""

    def __init__(
        self, pool: AsyncShopdbPool, telemetry: Telemetry = QUIET, router: AsyncRouter | None = None
    ) -> None:
        """`router`: with one (even over no replicas), commits leave causal tokens and
        read-only units of work go where it sends them; `pool` is then its primary."""
        self.pool = pool
        self.telemetry = telemetry
        self.router = router

    def __call__(
        self, *, read_only: bool = False, autocommit: bool = False
    ) -> AsyncPostgresUnitOfWork:
        if type(read_only) is not bool or type(autocommit) is not bool:
            raise flags_refused(read_only, autocommit)
        return AsyncPostgresUnitOfWork(
            self.pool, read_only, autocommit, self.telemetry, self.router
        )


# The classes' conformance to their ports: `mypy src` fails here when a port method is
# missing or its signature differs.
_conforms: type[AsyncUnitOfWork] = AsyncPostgresUnitOfWork
_makes: type[AsyncUnitOfWorkFactory] = AsyncPostgresUnitOfWorkFactory
