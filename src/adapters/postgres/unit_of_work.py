"""The PostgreSQL unit of work: one pooled connection and at most one transaction at a time."""

from __future__ import annotations

from types import TracebackType
from typing import Self

import psycopg
from psycopg_pool import PoolTimeout

from adapters.postgres.carts import PostgresCartRepository
from adapters.postgres.constraints import BY_CONSTRAINT
from adapters.postgres.errors import translate
from adapters.postgres.orders import PostgresOrderRepository
from adapters.postgres.pool import ShopdbPool, give_back
from adapters.postgres.probe import Probe
from adapters.postgres.products import PostgresProductRepository
from adapters.postgres.replicas import Router
from adapters.postgres.session import Savepoint, Session
from adapters.postgres.users import PostgresUserRepository
from adapters.telemetry import QUIET, Telemetry
from domain.errors import DomainError, StorageUnavailable, UnitOfWorkBusy, UnitOfWorkNotActive
from ports.unit_of_work import UnitOfWork, UnitOfWorkFactory


def _repositories(
    session: Session,
) -> tuple[
    PostgresUserRepository,
    PostgresProductRepository,
    PostgresCartRepository,
    PostgresOrderRepository,
]:
    return (
        PostgresUserRepository(session),
        PostgresProductRepository(session),
        PostgresCartRepository(session),
        PostgresOrderRepository(session),
    )


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

    def abort(self) -> None:
        pass  # nothing began, so nothing to roll back; every use refuses already


_INACTIVE: Session = _InactiveSession()
_REFUSING = _repositories(_INACTIVE)


class PostgresUnitOfWork:
    """Takes a connection from the pool on entry and gives it back on exit, never inside a
    transaction: whatever was not committed is rolled back first. Its repositories refuse
    every call before entry and after exit (UnitOfWorkNotActive)."""

    # Slots, each set in __init__ (see Session). Before entry: the inactive session, and the
    # refusing repositories. On entry the repositories become None, each made on first use and
    # bound to the session of the block it is taken in, so a point read makes one repository,
    # not four.
    __slots__ = (
        "_autocommit",
        "_carts",
        "_orders",
        "_pool",
        "_products",
        "_read_only",
        "_router",
        "_session",
        "_telemetry",
        "_users",
    )

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
        self._session: Session = _INACTIVE
        self._users: PostgresUserRepository | None = _REFUSING[0]
        self._products: PostgresProductRepository | None = _REFUSING[1]
        self._carts: PostgresCartRepository | None = _REFUSING[2]
        self._orders: PostgresOrderRepository | None = _REFUSING[3]

    @property
    def users(self) -> PostgresUserRepository:
        found = self._users
        if found is None:
            found = self._users = PostgresUserRepository(self._session)
        return found

    @property
    def products(self) -> PostgresProductRepository:
        found = self._products
        if found is None:
            found = self._products = PostgresProductRepository(self._session)
        return found

    @property
    def carts(self) -> PostgresCartRepository:
        found = self._carts
        if found is None:
            found = self._carts = PostgresCartRepository(self._session)
        return found

    @property
    def orders(self) -> PostgresOrderRepository:
        found = self._orders
        if found is None:
            found = self._orders = PostgresOrderRepository(self._session)
        return found

    def __enter__(self) -> Self:
        if self._session is not _INACTIVE:
            # One block per unit of work: entered twice (the first connection would leak), or
            # again after exit (its repositories of the first block must stay refused).
            raise UnitOfWorkNotActive()
        router = self._router
        try:
            if router is None:
                conn = self._pool.getconn()
            else:  # with replicas: a read-only unit of work may run on one of them
                self._pool, conn = router.checkout(self._read_only)
        except (PoolTimeout, psycopg.Error) as exc:
            raise unavailable(self._pool, exc) from exc
        telemetry = self._telemetry
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
        self._users = self._products = self._carts = self._orders = None
        return self

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
        if not self._session.active:
            raise self._session.refusal()
        self._session.abort()

    def savepoint(self) -> Savepoint:
        return Savepoint(self._session)


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
        return PostgresUnitOfWork(self.pool, read_only, autocommit, self.telemetry, self.router)


# The classes' conformance to their ports: `mypy src` fails here when a port method is
# missing or its signature differs.
_conforms: type[UnitOfWork] = PostgresUnitOfWork
_makes: type[UnitOfWorkFactory] = PostgresUnitOfWorkFactory
