"""The in-memory unit of work: a private copy of the tables from the first write until commit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

from adapters.failures import (
    BLOCK_CLOSED,
    BLOCK_LOST,
    BLOCK_NEW,
    BLOCK_OPEN,
    LEFT_OUT_OF_ORDER,
    NOT_OPEN,
    OUT_OF_ORDER,
    REFUSALS,
    failed_call,
)
from adapters.memory.carts import MemoryCartRepository
from adapters.memory.database import MemoryDatabase, Tables
from adapters.memory.orders import MemoryOrderRepository
from adapters.memory.products import MemoryProductRepository
from adapters.memory.users import MemoryUserRepository
from domain.errors import (
    DomainError,
    ReadOnlyViolation,
    RollbackRequired,
    UnitOfWorkBusy,
    UnitOfWorkMisuse,
    UnitOfWorkNotActive,
)
from ports.causality import committed
from ports.unit_of_work import UnitOfWork, UnitOfWorkFactory


class MemoryTransaction:
    """What the repositories of one unit of work share: the view they read and write."""

    def __init__(self, database: MemoryDatabase, *, read_only: bool, autocommit: bool) -> None:
        self.database = database
        self.read_only = read_only
        self.autocommit = autocommit
        self._working: Tables | None = None
        self._now: datetime | None = None
        self.active = False
        self.busy = False  # add_many is consuming the caller's rows: refuse re-entry
        self.failed: str | None = None  # the call that rolled the whole transaction back
        self.savepoints: list[MemorySavepoint] = []  # the open savepoint blocks, innermost last
        self.blocked: RollbackRequired | None = None  # what refuses writes now, if anything
        self.undos = 0  # failures rolled back so far: tells `write` whether one happened

    def refusal(self) -> DomainError:
        return UnitOfWorkBusy() if self.busy else UnitOfWorkNotActive()

    @contextmanager
    def importing(self) -> Iterator[None]:
        """As on PostgreSQL, where the connection is in the middle of a COPY: while add_many
        consumes the caller's rows, every other call on this unit of work refuses."""
        self.active, self.busy = False, True
        try:
            yield
        finally:
            self.active, self.busy = True, False

    def read(self) -> Tables:
        """Own uncommitted changes if any, else the latest committed state."""
        if not self.active:
            raise self.refusal()
        return self._working if self._working is not None else self.database.committed()

    def writable(self) -> None:
        """Raise unless this unit of work may write now."""
        if not self.active:
            raise self.refusal()
        if self.read_only:
            raise ReadOnlyViolation()
        if self.blocked is not None:
            raise RollbackRequired(self.blocked.failed, savepoint=self.blocked.savepoint)

    @contextmanager
    def writing(self) -> Iterator[Tables]:
        """The tables to change. Like a failed statement in PostgreSQL, a write that raises
        anything (a domain error, or a caller's iterable failing) aborts the transaction (or
        the innermost savepoint block): see `undo`."""
        self.writable()
        if self._working is None:
            self._working = self.database.begin_write()
            self._now = datetime.now(UTC)
        try:
            yield self._working
        except BaseException as exc:
            self.undo(failed_call("a write", exc))
            raise
        if self.autocommit:
            self.commit()

    def now(self) -> datetime:
        """The transaction's timestamp, like PostgreSQL's now()."""
        if self._now is None:
            self._now = datetime.now(UTC)
        return self._now

    def commit(self) -> None:
        if self._working is not None:
            working, self._working = self._working, None
            committed(self.database.publish(working))
        self._now = None

    def undo(self, what: str) -> None:
        """As the PostgreSQL session's: roll back the innermost savepoint block if one is
        open, else the whole transaction, and refuse writes and commit() until the caller
        acknowledges it."""
        self.undos += 1
        if self.busy:
            return  # add_many's own writing() rolls back as the error passes
        if self.savepoints:
            savepoint = self.savepoints[-1]
            self.restore(savepoint.snapshot)
            savepoint.failed = what
            self.blocked = RollbackRequired(what, savepoint=True)
            return
        self.rollback()
        if not (self.autocommit or self.read_only):
            self.failed = what
            self.blocked = RollbackRequired(what)

    def failed_write(self, name: str, exc: BaseException, undos: int) -> None:
        what = failed_call(name, exc)
        if self.undos == undos:
            if not isinstance(exc, REFUSALS):
                self.undo(what)
        elif self.blocked is not None:  # name the method rather than its inner step
            self.blocked = RollbackRequired(what, savepoint=self.blocked.savepoint)
            if self.blocked.savepoint:
                self.savepoints[-1].failed = what
            else:
                self.failed = what

    def snapshot(self) -> Tables | None:
        """What a savepoint restores: a copy of the writes so far (None: none yet)."""
        return None if self._working is None else self._working.copy()

    def restore(self, snapshot: Tables | None) -> None:
        if snapshot is None:
            if self._working is not None:
                self._working = None
                self.database.abandon()
        else:
            self._working = snapshot.copy()

    def rollback(self) -> None:
        """The whole transaction, open savepoint blocks included, and any failure forgotten."""
        if self.busy:
            return  # add_many's own writing() rolls back as the error passes
        self.failed = self.blocked = None
        if self.savepoints:
            for savepoint in self.savepoints:
                savepoint.state = BLOCK_LOST
            self.savepoints.clear()
        if self._working is not None:
            self._working = None
            self.database.abandon()
        self._now = None


class MemorySavepoint:
    """A savepoint block, as the PostgreSQL adapter's Savepoint: a copy of the writes so far,
    restored when a write inside the block fails or an exception leaves it."""

    def __init__(self, transaction: MemoryTransaction) -> None:
        self.transaction = transaction
        self.state = BLOCK_NEW
        self.failed: str | None = None
        self.snapshot: Tables | None = None

    def __enter__(self) -> None:
        transaction = self.transaction
        transaction.writable()
        if self.state is not BLOCK_NEW:
            raise UnitOfWorkNotActive()
        if transaction.autocommit:
            raise UnitOfWorkMisuse(
                "a savepoint in an autocommit unit of work: each call there commits by itself"
            )
        self.state = BLOCK_OPEN
        self.snapshot = transaction.snapshot()
        transaction.savepoints.append(self)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        transaction = self.transaction
        if transaction.busy and self.state is BLOCK_OPEN:
            raise UnitOfWorkBusy()  # left from add_many's rows: the import goes on
        if self.state is BLOCK_LOST or (self.state is BLOCK_OPEN and not transaction.active):
            self.state = BLOCK_CLOSED
            if exc is None and transaction.blocked is not None:
                raise RollbackRequired(transaction.blocked.failed)
            return
        if self.state is not BLOCK_OPEN:
            raise UnitOfWorkMisuse(NOT_OPEN)
        if transaction.savepoints[-1] is not self:
            transaction.rollback()
            transaction.failed = OUT_OF_ORDER
            transaction.blocked = RollbackRequired(OUT_OF_ORDER)
            self.state = BLOCK_CLOSED
            if exc is None:
                raise UnitOfWorkMisuse(LEFT_OUT_OF_ORDER)
            return
        transaction.savepoints.pop()
        self.state = BLOCK_CLOSED
        failed = transaction.failed
        transaction.blocked = None if failed is None else RollbackRequired(failed)
        if self.failed is None and exc is not None:
            transaction.restore(self.snapshot)
        if self.failed is not None and exc is None:
            raise RollbackRequired(self.failed, savepoint=True)


class MemoryUnitOfWork:
    def __init__(
        self, database: MemoryDatabase, *, read_only: bool = False, autocommit: bool = False
    ) -> None:
        # Inactive until entered, and again after exit: the repositories refuse then.
        self._transaction = MemoryTransaction(database, read_only=read_only, autocommit=autocommit)
        self._entered = False
        self.users = MemoryUserRepository(self._transaction)
        self.products = MemoryProductRepository(self._transaction)
        self.carts = MemoryCartRepository(self._transaction)
        self.orders = MemoryOrderRepository(self._transaction)

    def __enter__(self) -> Self:
        if self._entered:
            raise UnitOfWorkNotActive()  # one block per unit of work: entered twice or again
        self._entered = True
        self._transaction.active = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._transaction.busy:
            raise UnitOfWorkBusy()  # from inside add_many's iterable: the import goes on
        if self._transaction.active:
            self._transaction.active = False
            self._transaction.rollback()

    def commit(self) -> None:
        transaction = self._transaction
        if not transaction.active:
            raise transaction.refusal()
        if transaction.savepoints:
            raise UnitOfWorkMisuse("commit() inside a savepoint block: leave the block first")
        if transaction.blocked is not None:
            raise RollbackRequired(transaction.blocked.failed)
        transaction.commit()

    def rollback(self) -> None:
        if not self._transaction.active:
            raise self._transaction.refusal()
        self._transaction.rollback()

    def savepoint(self) -> MemorySavepoint:
        return MemorySavepoint(self._transaction)


class MemoryUnitOfWorkFactory:
    """Makes units of work over one shared in-memory database."""

    def __init__(self, database: MemoryDatabase | None = None) -> None:
        self.database = database or MemoryDatabase()

    def __call__(self, *, read_only: bool = False, autocommit: bool = False) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self.database, read_only=read_only, autocommit=autocommit)


# The classes' conformance to their ports: `mypy src` fails here when a port method is
# missing or its signature differs.
_conforms: type[UnitOfWork] = MemoryUnitOfWork
_makes: type[UnitOfWorkFactory] = MemoryUnitOfWorkFactory
