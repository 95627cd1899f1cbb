# Generated from unit_of_work_async.py (tools/generate_sync.py): edit that instead.
"""The in-memory unit of work: a private copy of the tables from the first write until commit."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from adapters.aggregates import Repositories
from adapters.lifecycle import flags_refused
from adapters.memory.database import MemoryDatabase
from adapters.memory.transaction import MemorySavepoint, MemoryTransaction
from domain.errors import UnitOfWorkBusy, UnitOfWorkNotActive
from ports.unit_of_work import UnitOfWork, UnitOfWorkFactory


class MemoryUnitOfWork(Repositories[MemoryTransaction], UnitOfWork):
    """Inactive until entered, and again after exit: the repositories refuse then."""

    __slots__ = ("_entered",)

    def __init__(
        self, database: MemoryDatabase, *, read_only: bool = False, autocommit: bool = False
    ) -> None:
        self._session = MemoryTransaction(database, read_only=read_only, autocommit=autocommit)
        self._made = {}
        self._entered = False

    def __enter__(self) -> Self:
        if self._entered:
            raise UnitOfWorkNotActive()  # one block per unit of work: entered twice or again
        self._entered = True
        self._session.active = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        transaction = self._session
        if transaction.busy:
            raise UnitOfWorkBusy()  # from inside add_many's iterable: the import goes on
        if transaction.active:
            transaction.active = False
            transaction.abort()

    def commit(self) -> None:
        self._session.committable()
        self._session.commit()

    def rollback(self) -> None:
        self._session.rollback()

    def savepoint(self) -> MemorySavepoint:
        return MemorySavepoint(self._session)


class MemoryUnitOfWorkFactory:
    """Makes units of work over one shared in-memory database."""

    def __init__(self, database: MemoryDatabase | None = None) -> None:
        self.database = database or MemoryDatabase()

    def __call__(self, *, read_only: bool = False, autocommit: bool = False) -> MemoryUnitOfWork:
        if type(read_only) is not bool or type(autocommit) is not bool:
            raise flags_refused(read_only, autocommit)
        return MemoryUnitOfWork(self.database, read_only=read_only, autocommit=autocommit)


# The classes' conformance to their ports: `mypy src` fails here when a port method is
# missing or its signature differs.
_conforms: type[UnitOfWork] = MemoryUnitOfWork
_makes: type[UnitOfWorkFactory] = MemoryUnitOfWorkFactory
