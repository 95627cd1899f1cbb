"""One pooled connection shared by the repositories of a unit of work, and its transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from adapters.postgres.errors import translate
from domain.errors import DomainError, ReadOnlyViolation


class Session:
    """The connection is in autocommit mode: reads outside a transaction need no BEGIN/COMMIT,
    and a transaction starts only when something is written."""

    def __init__(
        self, conn: psycopg.Connection[Any], *, read_only: bool, autocommit: bool = False
    ) -> None:
        self.conn = conn
        self.read_only = read_only
        self.autocommit = autocommit

    @property
    def in_transaction(self) -> bool:
        # pgconn, not conn.info: this runs on every statement and info is built on each access.
        return self.conn.pgconn.transaction_status != TransactionStatus.IDLE

    @contextmanager
    def reading(self, **context: Any) -> Iterator[psycopg.Connection[Any]]:
        try:
            yield self.conn
        except psycopg.Error as exc:
            if self.in_transaction:
                self.abort()
            raise translate(exc, context) from exc

    @contextmanager
    def writing(
        self, *, one_statement: bool = False, **context: Any
    ) -> Iterator[psycopg.Connection[Any]]:
        """The connection, inside the unit of work's transaction. A failure rolls the
        transaction back, whether the database or the repository raised it.

        In autocommit mode the block is a transaction of its own, committed at its end; a block
        that writes with `one_statement` (any further statement only diagnoses a failure) runs
        without BEGIN/COMMIT, as the statement is atomic by itself."""
        if self.read_only:
            raise ReadOnlyViolation()
        try:
            if not self.in_transaction and not (self.autocommit and one_statement):
                self.conn.execute("BEGIN")
            yield self.conn
            if self.autocommit and self.in_transaction:
                self.conn.execute("COMMIT")
        except psycopg.Error as exc:
            self.abort()
            raise translate(exc, context) from exc
        except DomainError:
            self.abort()
            raise

    def commit(self) -> None:
        if self.in_transaction:
            try:
                self.conn.execute("COMMIT")
            except psycopg.Error as exc:
                self.abort()
                raise translate(exc, {}) from exc

    def abort(self) -> None:
        """Roll back; on a broken connection there is nothing left to roll back."""
        if self.in_transaction and not self.conn.closed:
            # On failure the connection is broken: the pool discards it when it comes back.
            with suppress(psycopg.Error):
                self.conn.execute("ROLLBACK")


def returned(row: Any) -> tuple[Any, ...]:
    """The row a statement with RETURNING must produce."""
    if row is None:
        raise RuntimeError("the statement returned no row")
    return tuple(row)
