"""The PostgreSQL unit of work: one pooled connection and at most one transaction at a time."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from adapters.postgres.carts import PostgresCartRepository
from adapters.postgres.errors import translate
from adapters.postgres.pool import give_back
from adapters.postgres.products import PostgresProductRepository
from adapters.postgres.session import Session
from adapters.postgres.users import PostgresUserRepository


class PostgresUnitOfWork:
    """Takes a connection from the pool on entry and gives it back on exit, never inside a
    transaction: whatever was not committed is rolled back first."""

    def __init__(
        self, pool: ConnectionPool[Any], *, read_only: bool = False, autocommit: bool = False
    ) -> None:
        self._pool = pool
        self._read_only = read_only
        self._autocommit = autocommit
        self._session: Session | None = None

    def __enter__(self) -> Self:
        try:
            conn = self._pool.getconn()
        except (PoolTimeout, psycopg.Error) as exc:
            raise translate(exc, {}) from exc
        self._session = Session(conn, read_only=self._read_only, autocommit=self._autocommit)
        self.users = PostgresUserRepository(self._session)
        self.products = PostgresProductRepository(self._session)
        self.carts = PostgresCartRepository(self._session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        try:
            session.abort()
        finally:
            give_back(self._pool, session.conn)

    def _current(self) -> Session:
        if self._session is None:
            raise RuntimeError("use the unit of work inside a `with` block")
        return self._session

    def commit(self) -> None:
        self._current().commit()

    def rollback(self) -> None:
        self._current().abort()


class PostgresUnitOfWorkFactory:
    """Makes units of work over one connection pool."""

    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self.pool = pool

    def __call__(self, *, read_only: bool = False, autocommit: bool = False) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(self.pool, read_only=read_only, autocommit=autocommit)
