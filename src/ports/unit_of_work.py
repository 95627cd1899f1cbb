# Generated from unit_of_work_async.py (tools/generate_sync.py): edit that instead.
"""The unit-of-work port: one transaction across the repositories."""

from __future__ import annotations

import inspect
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Protocol, Self, get_type_hints

from ports.carts import CartRepository
from ports.orders import OrderRepository
from ports.products import ProductRepository
from ports.users import UserRepository


class UnitOfWork(Protocol):
    """Use as a context manager, once. What the repositories change is visible to others only
    after `commit()`; leaving the block without it rolls everything back.

    When a repository method that writes raises anything (a domain error, including InvalidInput
    for a bad argument, or an exception from the caller's own iterable), the transaction has
    been rolled back (as PostgreSQL aborts a transaction on a failed statement) and the error
    propagates. From then on every write and `commit()` raise RollbackRequired, naming the call
    that failed, until the caller calls `rollback()` (or leaves the block): nothing is ever
    committed that the caller did not see succeed. A read that raises a domain error of its own
    (NotFound, InvalidInput) rolls nothing back; a read the database fails (StorageUnavailable,
    TransientConflict) rolls back the transaction around it, as PostgreSQL aborts it, and
    refuses writes in the same way when that discarded writes. Reads go on either way. Refusals
    (RollbackRequired, ReadOnlyViolation, UnitOfWorkNotActive, UnitOfWorkBusy,
    UnitOfWorkMisuse) roll nothing back. In an autocommit unit of work every call is its own
    transaction, so a failure refuses nothing after it.

    To go on after a failed write, write inside `savepoint()`: a failure there rolls back only
    that block.

    While `products.add_many` consumes the caller's iterable, the iterable cannot use the same
    unit of work: every call raises UnitOfWorkBusy (use another unit of work there).

    Before `with` enters it and after it exits, the unit of work and every repository taken
    from it raise UnitOfWorkNotActive, and touch no data; entering it a second time (nested, or
    after its block) raises too.
    Every call that waits on the database ends within the deadlines of the configuration
    (StorageUnavailable after them)."""

    # The aggregates, each reached through its repository: the one list of them. An adapter's
    # unit of work that subclasses this port gets each from its own package
    # (adapters/aggregates.py); tests derive their lists from these properties.
    __slots__ = ()

    @property
    def users(self) -> UserRepository:
        raise _from_the_adapter("users")

    @property
    def products(self) -> ProductRepository:
        raise _from_the_adapter("products")

    @property
    def carts(self) -> CartRepository:
        raise _from_the_adapter("carts")

    @property
    def orders(self) -> OrderRepository:
        raise _from_the_adapter("orders")

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None:
        """Make the changes durable and visible. Raises TransientConflict when the database
        aborted the transaction (the whole unit of work may be run again), TransactionAborted
        when it had already been aborted (nothing was stored), StorageUnavailable when the
        database could not be reached (nothing was stored), and CommitOutcomeUnknown (a
        StorageUnavailable) when the connection was lost with the commit in flight: it may or
        may not have been stored."""
        ...

    def rollback(self) -> None:
        """Discard every change since the last commit (open savepoint blocks included), and let
        writes go on after a failed one."""
        ...

    def savepoint(self) -> AbstractContextManager[None]:
        """A nested block (SAVEPOINT on PostgreSQL): `with uow.savepoint():`. A call that
        fails inside it rolls back only what the block wrote (RELEASE / ROLLBACK TO); once the
        error has left the block, the unit of work goes on with everything written before it.
        Any exception leaving the block rolls the block back. Inside it, after a failed write,
        further writes raise RollbackRequired until the block is left, and a block left
        normally after a failed write (the caller caught the error inside it) raises
        RollbackRequired on exit: catch errors outside the block. Blocks nest; leaving one
        while a block opened inside it is still open rolls the whole unit of work back (as a
        failed write does) and raises UnitOfWorkMisuse. A block is entered and left once
        (UnitOfWorkMisuse the second time). Raises
        UnitOfWorkMisuse in an autocommit unit of work (each call commits by itself there) and
        from `commit()` inside a block; ReadOnlyViolation in a read-only one. Costs a round
        trip on entry and one on exit; code that does not use it pays nothing."""
        ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False, autocommit: bool = False) -> UnitOfWork:
        """A new unit of work.

        `read_only`: writes raise ReadOnlyViolation; reads need no transaction at all.
        `autocommit`: every repository call is a transaction of its own, committed when it
        returns (a call made of one statement needs no BEGIN or COMMIT); `commit()` has nothing
        left to do and `rollback()` nothing to undo. Both flags are bools: anything else is
        InvalidInput. For use cases that write once. A write
        there may raise CommitOutcomeUnknown, as it is its own commit."""
        ...


def _from_the_adapter(name: str) -> AttributeError:
    return AttributeError(f"{name}: an adapter's unit of work supplies its repositories")


def aggregates() -> dict[str, type]:
    """The aggregates, by the name a unit of work reaches each by (in alphabetical order):
    every property of `UnitOfWork`, with the repository port it returns. The one list the
    adapters and the tests derive theirs from."""
    return {
        name: get_type_hints(member.fget)["return"]
        for name, member in inspect.getmembers_static(UnitOfWork)
        if isinstance(member, property) and member.fget is not None
    }
