"""The in-memory unit of work: a private copy of the tables from the first write until commit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

from adapters.memory.carts import MemoryCartRepository
from adapters.memory.database import MemoryDatabase, Tables
from adapters.memory.orders import MemoryOrderRepository
from adapters.memory.products import MemoryProductRepository
from adapters.memory.users import MemoryUserRepository
from domain.errors import DomainError, ReadOnlyViolation, UnitOfWorkBusy, UnitOfWorkNotActive
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

    @contextmanager
    def writing(self) -> Iterator[Tables]:
        """The tables to change. Like a failed statement in PostgreSQL, a write that raises
        anything (a domain error, or a caller's iterable failing) aborts the transaction:
        everything since the last commit is rolled back."""
        if not self.active:
            raise self.refusal()
        if self.read_only:
            raise ReadOnlyViolation()
        if self._working is None:
            self._working = self.database.begin_write()
            self._now = datetime.now(UTC)
        try:
            yield self._working
        except BaseException:
            self.rollback()
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

    def rollback(self) -> None:
        if self.busy:
            return  # add_many's own writing() rolls back as the error passes
        if self._working is not None:
            self._working = None
            self.database.abandon()
        self._now = None


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
        if not self._transaction.active:
            raise self._transaction.refusal()
        self._transaction.commit()

    def rollback(self) -> None:
        if not self._transaction.active:
            raise self._transaction.refusal()
        self._transaction.rollback()


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
