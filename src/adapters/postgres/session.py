"""One pooled connection shared by the repositories of a unit of work, and its transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import TracebackType
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from adapters.postgres.errors import translate
from adapters.postgres.pool import tended
from domain.errors import DomainError, ReadOnlyViolation


class Session:
    """The connection is in autocommit mode: reads outside a transaction need no BEGIN/COMMIT,
    and a transaction starts only when something is written.

    Statements go through the connection's own cursor, kept with it across units of work.
    `conn.execute()` builds a new cursor for every statement, and with it a new adaptation
    context that looks up every column's loader again: a point read took 64 µs that way and
    45 µs on a kept cursor (same connection, client and server on one core). The repositories
    use the cursor one statement at a time and fetch at once."""

    def __init__(
        self, conn: psycopg.Connection[Any], *, read_only: bool, autocommit: bool = False
    ) -> None:
        self.conn = conn
        self.cur = tended(conn).cursor
        self.read_only = read_only
        self.autocommit = autocommit

    @property
    def in_transaction(self) -> bool:
        # pgconn, not conn.info: this runs on every statement and info is built on each access.
        return self.conn.pgconn.transaction_status != TransactionStatus.IDLE

    def reading(self) -> _Reading:
        """The cursor, for reads; a failure of the database becomes a domain error."""
        return _Reading(self)  # made per read: kept on the session, it would be a ref cycle

    @contextmanager
    def writing(
        self, *, one_statement: bool = False, **context: Any
    ) -> Iterator[psycopg.Cursor[Any]]:
        """The connection, inside the unit of work's transaction. A failure rolls the
        transaction back, whether the database or the repository raised it.

        In autocommit mode the block is a transaction of its own, committed at its end; a block
        that writes with `one_statement` (any further statement only diagnoses a failure) runs
        without BEGIN/COMMIT, as the statement is atomic by itself."""
        if self.read_only:
            raise ReadOnlyViolation()
        try:
            if not self.in_transaction and not (self.autocommit and one_statement):
                self.cur.execute("BEGIN")
            yield self.cur
            if self.autocommit and self.in_transaction:
                self.cur.execute("COMMIT")
        except psycopg.Error as exc:
            self.abort()
            raise translate(exc, context) from exc
        except DomainError:
            self.abort()
            raise

    def commit(self) -> None:
        if self.in_transaction:
            try:
                self.cur.execute("COMMIT")
            except psycopg.Error as exc:
                self.abort()
                raise translate(exc, {}) from exc

    def abort(self) -> None:
        """Roll back; on a broken connection there is nothing left to roll back."""
        if self.in_transaction and not self.conn.closed:
            # On failure the connection is broken: the pool discards it when it comes back.
            with suppress(psycopg.Error):
                self.cur.execute("ROLLBACK")


class _Reading:
    """`Session.reading()`: a plain context manager, as it wraps every read (a generator-based
    one costs ~1.5 µs more)."""

    __slots__ = ("_session",)

    def __init__(self, session: Session) -> None:
        self._session = session

    def __enter__(self) -> psycopg.Cursor[Any]:
        return self._session.cur

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(exc, psycopg.Error):
            if self._session.in_transaction:
                self._session.abort()
            raise translate(exc, {}) from exc


def returned(row: Any) -> tuple[Any, ...]:
    """The row a statement with RETURNING must produce."""
    if row is None:
        raise RuntimeError("the statement returned no row")
    return tuple(row)
