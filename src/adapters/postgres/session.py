# Generated from session_async.py (tools/generate_sync.py): edit that instead.
"""One pooled connection shared by the repositories of a unit of work, and its
transaction."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from time import monotonic
from types import TracebackType
from typing import Any, Unpack

import psycopg
from psycopg.errors import IdleInTransactionSessionTimeout
from psycopg.pq import ConnStatus, TransactionStatus

from adapters.failures import failed_call
from adapters.lifecycle import Block, Lifecycle, write_rule
from adapters.postgres.errors import ConstraintErrors, ErrorContext, translate
from adapters.postgres.pool import Deadlines, tended
from adapters.postgres.probe import Probe, probed_cursor, slow_call
from domain.errors import (
    CommitOutcomeUnknown,
    DomainError,
    StorageUnavailable,
    TransactionAborted,
)
from ports.causality import committed, position

# One round trip (the simple query protocol runs both): the position read after COMMIT is at
# or past the commit's record, so a replica that replayed it has the commit.
_COMMIT_AT = "COMMIT; SELECT pg_current_wal_insert_lsn()::text"

_IDLE = TransactionStatus.IDLE
_INERROR = TransactionStatus.INERROR


class Session(Lifecycle):
    """The connection is in autocommit mode: reads outside a transaction need no BEGIN/COMMIT,
    and a transaction starts only when something is written.

    Statements go through the connection's own cursor, kept with it across units of work
    (docs/performance.md, "The hot path"). The repositories use the cursor one statement at a
    time and fetch at once.

    While a probe observes the unit of work, statements go through its probed cursor instead
    (counted, timed, traced, each slow one named). Without one, a block slower than the
    threshold is still a WARNING, from the times taken for the deadlines anyway.

    Every block that talks to the server runs under the pool's deadline (see deadlines.py).
    Once the unit of work has exited, `active` is False and every block refuses to start: the
    connection belongs to someone else by then."""

    # Slots, each set in __init__ (docs/performance.md; tests/unit/test_hot_path.py).
    __slots__ = (
        "conn",
        "constraints",
        "cur",
        "deadlines",
        "in_flight",
        "last_answer",
        "limit",
        "probe",
        "slow",
        "started",
        "tended",
        "track",
        "watchdog",
    )

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        deadlines: Deadlines,
        read_only: bool,
        autocommit: bool = False,
        probe: Probe | None = None,
        slow: float = math.inf,
        constraints: ConstraintErrors | None = None,
        track: bool = False,
    ) -> None:
        self.conn = conn
        # With replicas: every commit reads the primary's WAL position in its own round trip
        # and leaves it as this context's causal token (ports/causality.py).
        self.track = track
        self.constraints = constraints
        self.probe = probe
        self.tended = tended(conn)
        self.cur: psycopg.Cursor[Any] = self.tended.cursor
        self.slow = slow
        if probe is not None:
            self.cur = probed_cursor(conn, probe)
            self.slow = math.inf  # the probe times each statement itself
        self.begin_life(read_only, autocommit)
        self.started = 0.0  # when the block under way started (its deadline's start)
        self.last_answer = 0.0  # when the server last answered in this session; 0.0: not yet
        self.deadlines = deadlines
        self.limit = deadlines.statement
        self.watchdog = deadlines.watchdog
        self.in_flight = deadlines.watchdog.in_flight  # Watchdog.watch and done, inline

    @property
    def idle_limit(self) -> float:
        return self.deadlines.idle_in_transaction

    @property
    def copy_budget(self) -> float | None:
        return self.deadlines.copy

    @property
    def in_transaction(self) -> bool:
        # pgconn, not conn.info, which is built anew on each access: this runs every statement.
        return self.conn.pgconn.transaction_status != _IDLE

    def reading(self) -> Session:
        """For reads: `with session.reading() as cur:` runs the block under the deadline,
        and a failure of the database becomes a domain error. The session is that context
        manager itself (blocks do not nest), so a read makes no object of its own."""
        if not self.active:
            raise self.refusal()
        return self

    def __enter__(self) -> psycopg.Cursor[Any]:
        self.started = now = monotonic()
        limit = self.limit
        if limit is not None:
            self.in_flight[self.conn] = (now + limit, limit)
        return self.cur

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.limit is not None:
            self.in_flight.pop(self.conn, None)
        if exc is not None and isinstance(exc, psycopg.Error):
            raise self.failure(exc, {}) from exc
        self.last_answer = now = monotonic()
        if now - self.started > self.slow:
            slow_call(now - self.started, self.slow)

    def watch(self) -> None:
        """Start the deadline of the next statement; a long block (a bulk import) calls it again
        before each of its statements."""
        self.started = now = monotonic()
        if self.limit is not None:
            self.watchdog.watch(self.conn, self.limit, now)

    def unwatch(self) -> None:
        self.last_answer = monotonic()
        if self.limit is not None:
            self.watchdog.done(self.conn)
        if self.last_answer - self.started > self.slow:
            slow_call(self.last_answer - self.started, self.slow)

    @contextmanager
    def writing(
        self, *, one_statement: bool = False, locking: bool = False, **context: Unpack[ErrorContext]
    ) -> Iterator[psycopg.Cursor[Any]]:
        """The connection, inside the unit of work's transaction. Whatever raises inside the
        block (the database, the repository, a caller's iterable) rolls the transaction back and
        propagates; a database error becomes a domain error.

        In autocommit mode the block is a transaction of its own, committed at its end; a block
        that writes with `one_statement` (any further statement only diagnoses a failure) runs
        without BEGIN/COMMIT, as the statement is atomic by itself: if the connection is lost
        while it runs, whether it took effect is unknown. `locking`: a read that holds locks to
        the end of the transaction (SELECT ... FOR UPDATE) and writes nothing: its failure
        refuses writes only when the transaction held writes before it."""
        self.writable()
        if not locking:
            self.wrote()
        # A commit of its own leaves no position to read after it: with tracking, always BEGIN.
        implicit = self.autocommit and one_statement and not self.in_transaction and not self.track
        self.watch()
        try:
            if not self.in_transaction and not implicit:
                self.cur.execute("BEGIN")
            yield self.cur
        except psycopg.Error as exc:
            raise self.failure(exc, context, committing=implicit, writing=not locking) from exc
        except BaseException as exc:
            self.undo(failed_call("a write", exc), writing=not locking)
            raise
        else:
            if self.autocommit and self.in_transaction:
                self._commit()
        finally:
            self.unwatch()

    def commit(self) -> None:
        self.committable()
        if self.autocommit:
            return  # every call committed by itself: nothing is pending
        if self.in_transaction:
            self.watch()
            try:
                self._commit()
            finally:
                self.unwatch()

    def _commit(self) -> None:
        if self.conn.pgconn.transaction_status == _INERROR:
            self.abort()
            raise TransactionAborted()
        if self.conn.pgconn.status != ConnStatus.OK:
            # Lost before COMMIT was sent: the server rolls the transaction back.
            raise StorageUnavailable(
                "the connection was lost before the commit: nothing was committed"
            )
        cur = self.cur
        try:
            cur.execute(_COMMIT_AT if self.track else "COMMIT")
            # The server answers COMMIT of an aborted transaction with ROLLBACK, and no error.
            status = cur.statusmessage
            if self.track and cur.nextset():
                row = cur.fetchone()
                if status == "COMMIT" and row is not None:
                    committed(position(row[0]))
        except psycopg.Error as exc:
            raise self.failure(exc, {}, committing=True) from exc
        if status != "COMMIT":
            raise TransactionAborted()
        self.written = False

    def failure(
        self,
        exc: psycopg.Error,
        context: ErrorContext,
        *,
        committing: bool = False,
        writing: bool = False,
        call: str | None = None,
    ) -> DomainError:
        """The domain error for `exc`, after rolling back what can be rolled back. `call` names
        what failed (else "a write" or "a read": a repository method renames it)."""
        error = self._error(exc, context, committing)
        if committing:
            self.abort()
        else:
            call = call or ("a write" if writing else "a read")
            self.undo(failed_call(call, error), writing=writing)
        return error

    def _error(self, exc: psycopg.Error, context: ErrorContext, committing: bool) -> DomainError:
        limit = self.watchdog.exceeded(self.conn)
        broken = self.conn.closed or self.conn.pgconn.status != ConnStatus.OK
        if committing and broken and not isinstance(exc, IdleInTransactionSessionTimeout):
            # 25P03 is the server's word that it ended the session while waiting for this
            # client's next statement: the COMMIT was never run, and the transaction was
            # rolled back with the session. Any other loss during COMMIT leaves it unknown.
            what = f"no answer within {limit:g} s" if limit else _first_line(exc)
            return CommitOutcomeUnknown(
                f"connection lost while committing ({what}): the transaction may or may not"
                " have been committed; read the data again before repeating the change"
            )
        if isinstance(exc, IdleInTransactionSessionTimeout) and self.idle_limit:
            # The time this client let pass between the last answer and its next statement.
            idle = self.started - self.last_answer
            if idle < self.idle_limit:
                return StorageUnavailable(
                    "the server ended the transaction as idle for longer than"
                    f" idle_in_transaction_session_timeout ({self.idle_limit:g} s), but this"
                    f" client sent its next statement {idle:.1f} s after the previous answer:"
                    " the server was stalled (frozen, paused or overloaded); nothing was"
                    " committed"
                )
        if limit is not None:
            return StorageUnavailable(
                f"no answer from the database within {limit:g} s (statement_timeout plus a"
                " margin): the server is frozen, overloaded or unreachable; the connection was"
                " discarded and nothing was committed"
            )
        return translate(exc, context, self.constraints)

    def roll_back_to(self, block: Block) -> bool:
        assert isinstance(block, Savepoint)
        if self.conn.closed or self.conn.pgconn.status != ConnStatus.OK:
            return False
        self.watch()
        try:
            self.cur.execute(block.rollback_to)
        except psycopg.Error:
            return False  # the connection broke meanwhile: the whole transaction goes
        finally:
            self.unwatch()
        return True

    def discard(self) -> None:
        """On a broken connection there is nothing left to roll back: the pool discards it
        when it comes back."""
        if self.in_transaction and not self.conn.closed:
            self.watch()
            try:
                with suppress(psycopg.Error):
                    self.cur.execute("ROLLBACK")
            finally:
                self.unwatch()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# Marks a repository method that writes (the repositories keep their session in `_s`).
write = write_rule("_s")


def returned(row: Any) -> tuple[Any, ...]:
    """The row a statement with RETURNING must produce."""
    if row is None:
        raise RuntimeError("the statement returned no row")
    return tuple(row)


class Savepoint(Block):
    """A savepoint block of a unit of work (`with uow.savepoint():`), as SAVEPOINT,
    ROLLBACK TO and RELEASE (the rules are adapters.lifecycle.Block's)."""

    __slots__ = ("name", "rollback_to", "session")

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.session = session
        self.name = self.rollback_to = ""

    def open(self) -> None:
        session = self.session
        self.name = f"shopdb_{len(session.savepoints) + 1}"
        self.rollback_to = f"ROLLBACK TO SAVEPOINT {self.name}"
        statement = f"SAVEPOINT {self.name}"
        session.watch()
        try:
            if not session.in_transaction:
                statement = f"BEGIN; {statement}"
            session.cur.execute(statement)
        except psycopg.Error as exc:
            raise session.failure(exc, {}, writing=True, call="savepoint") from exc
        finally:
            session.unwatch()

    def leave(self, roll_back: bool) -> None:
        session = self.session
        release = f"RELEASE SAVEPOINT {self.name}"
        statement = f"{self.rollback_to}; {release}" if roll_back else release
        session.watch()
        try:
            session.cur.execute(statement)
        except psycopg.Error as error:
            raise session.failure(
                error, {}, writing=True, call="leaving a savepoint block"
            ) from error
        finally:
            session.unwatch()
