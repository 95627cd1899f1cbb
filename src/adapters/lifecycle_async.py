"""The life of an async unit of work, once for both adapters: when a call may run, what a
failed call undoes and refuses afterwards, and savepoint blocks. Each adapter supplies only its
storage: how to roll back the whole transaction, how to open, roll back to and leave a
savepoint."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from operator import attrgetter
from types import TracebackType
from typing import Any, TypeVar

from adapters.failures import (
    BLOCK_CLOSED,
    BLOCK_LOST,
    BLOCK_NEW,
    BLOCK_OPEN,
    LEFT_OUT_OF_ORDER,
    NOT_OPEN,
    OUT_OF_ORDER,
    REFUSALS,
    call_name,
    failed_call,
)
from domain.errors import (
    DomainError,
    InvalidInput,
    ReadOnlyViolation,
    RollbackRequired,
    UnitOfWorkBusy,
    UnitOfWorkMisuse,
    UnitOfWorkNotActive,
)

AUTOCOMMIT_SAVEPOINT = (
    "a savepoint in an autocommit unit of work: each call there commits by itself"
)
COMMIT_IN_BLOCK = "commit() inside a savepoint block: leave the block first"
ENTERED_ONCE = "a savepoint block is entered once: take a new one from savepoint()"
if True:  # ASYNC
    OTHER_TASKS_BLOCK = (
        "a write inside a savepoint block another task opened: a block, and what fails in it,"
        " is its task's; use a unit of work per task"
    )


class AsyncLifecycle:
    """What a unit of work's repositories share besides the storage: whether calls may run
    (`active`; `busy` while a bulk import consumes the caller's rows), what refuses writes
    after a failure (`blocked`, naming the call), and the open savepoint blocks.

    A failed write rolls back the innermost savepoint block, or else the whole transaction,
    and refuses writes and `commit()` until the caller acknowledges it (leaving the block, or
    `rollback()`); a failed read refuses writes only when it took writes with it."""

    __slots__ = (
        "active",
        "autocommit",
        "blocked",
        "busy",
        "calling",
        "failed",
        "read_only",
        "savepoints",
        "undos",
        "written",
    )

    def begin_life(self, read_only: bool, autocommit: bool) -> None:
        if True:  # ASYNC
            # A write, COMMIT or ROLLBACK of this unit of work is waiting on storage: a task
            # that shares the unit of work may not start another meanwhile (`alone`).
            self.calling = False
        self.read_only = read_only
        self.autocommit = autocommit
        self.active = True
        self.busy = False
        self.failed: str | None = None  # the call that rolled the whole transaction back
        self.savepoints: list[AsyncBlock] = []  # the open savepoint blocks, innermost last
        self.blocked: RollbackRequired | None = None  # what refuses writes now, if anything
        self.undos = 0  # failures rolled back so far: tells `write` whether one happened
        self.written = False  # the transaction holds writes (a locking read writes nothing)

    # What each adapter supplies.
    async def discard(self) -> None:
        """Roll back the whole transaction in storage."""
        raise NotImplementedError

    async def roll_back_to(self, block: AsyncBlock) -> bool:
        """Roll storage back to where `block` began; False when that is no longer possible
        (the whole transaction goes then)."""
        raise NotImplementedError

    # The rules.
    def refusal(self) -> DomainError:
        return UnitOfWorkBusy() if self.busy else UnitOfWorkNotActive()

    @asynccontextmanager
    async def importing(self) -> AsyncIterator[None]:
        """While a bulk import consumes the caller's rows, every other call refuses (on
        PostgreSQL the connection is in the middle of a COPY)."""
        self.active, self.busy = False, True
        try:
            yield
        finally:
            self.active, self.busy = True, False

    def writable(self) -> None:
        """Raise unless a write may run now."""
        if not self.active:
            raise self.refusal()
        if True:  # ASYNC
            self.alone()
        if self.read_only:
            raise ReadOnlyViolation()
        if self.blocked is not None:
            raise RollbackRequired(self.blocked.failed, savepoint=self.blocked.savepoint)

    def committable(self) -> None:
        """Raise unless `commit()` may run now."""
        if not self.active:
            raise self.refusal()
        if True:  # ASYNC
            self.alone()
        if self.savepoints:
            raise UnitOfWorkMisuse(COMMIT_IN_BLOCK)
        if self.blocked is not None:
            raise RollbackRequired(self.blocked.failed)

    if True:  # ASYNC

        def alone(self) -> None:
            """Raise unless this task may write now. Tasks that share a unit of work take
            turns: a write, `commit()` or `rollback()` while another task's is waiting on
            storage is UnitOfWorkBusy (one connection, one transaction: a COMMIT and a write
            sent together would leave the write outside the transaction); a write inside a
            savepoint block another task opened is UnitOfWorkMisuse (its failure would roll
            back the other task's block, and the other task's failure this write)."""
            if self.calling:
                raise UnitOfWorkBusy()
            if self.savepoints and self.savepoints[-1].task is not asyncio.current_task():
                raise UnitOfWorkMisuse(OTHER_TASKS_BLOCK)

    def wrote(self) -> None:
        """A write is under way: a failure inside the open block, or of the transaction,
        takes writes with it."""
        self.written = True
        if self.savepoints:
            self.savepoints[-1].wrote = True

    async def undo(self, what: str, *, writing: bool) -> None:
        """After a call failed: roll back the innermost open savepoint block if there is one
        (and storage can still do it), else the whole transaction, and refuse until the
        caller acknowledges it. A failed write always counts; a failed read only when it
        rolled back writes."""
        self.undos += 1
        if self.busy:
            return  # the import rolls back as its error passes, and undoes it then
        if self.savepoints:
            block = self.savepoints[-1]
            if await self.roll_back_to(block):
                if writing or block.wrote:  # a read that took no write refuses nothing
                    block.failed = what
                    self.blocked = RollbackRequired(what, savepoint=True)
                return
        pending = self.written or bool(self.savepoints)
        await self.abort()
        if (writing or pending) and not (self.autocommit or self.read_only):
            self.failed = what
            self.blocked = RollbackRequired(what)

    async def failed_write(self, name: str, exc: BaseException, undos: int) -> None:
        """A repository method that writes raised `exc`: roll back unless a failure inside it
        did already, and name the method as the call that failed."""
        what = failed_call(name, exc)
        if self.undos == undos:
            if not isinstance(exc, REFUSALS):
                await self.undo(what, writing=True)
        elif self.blocked is not None:  # name the method rather than its inner step
            self.blocked = RollbackRequired(what, savepoint=self.blocked.savepoint)
            if self.blocked.savepoint:
                self.savepoints[-1].failed = what
            else:
                self.failed = what

    async def rollback(self) -> None:
        """The unit of work's `rollback()`: everything since the last commit goes, and writes
        may go on after a failed one."""
        if not self.active:
            raise self.refusal()
        if True:  # ASYNC
            self.alone()
        await self.abort()

    async def abort(self) -> None:
        """Roll back the whole transaction, open savepoint blocks included, and forget any
        failure: what `rollback()` and leaving the unit of work do. Not while a bulk import
        runs: the import itself rolls back as its error passes."""
        if self.busy:
            return
        self.failed = self.blocked = None
        self.written = False
        if self.savepoints:
            for block in self.savepoints:
                block.state = BLOCK_LOST
            self.savepoints.clear()
        await self.discard()

    async def out_of_order(self) -> None:
        """A block was left while one opened inside it was open: everything goes."""
        await self.abort()
        self.failed = OUT_OF_ORDER
        self.blocked = RollbackRequired(OUT_OF_ORDER)


class AsyncBlock:
    """A savepoint block (`with uow.savepoint():`). A write that fails inside it rolls back only
    what the block wrote, and the unit of work goes on once the block is left. An exception
    leaving the block rolls the block back; a block left normally after one of its writes
    failed (the caller caught the error inside it) raises RollbackRequired, as what it wrote
    is gone. Leaving a block while a block opened inside it is still open rolls the whole unit
    of work back and is refused like a failed write. Adapters supply `open` and `leave`."""

    __slots__ = ("failed", "owner", "state", "task", "wrote")

    def __init__(self, owner: AsyncLifecycle) -> None:
        self.owner = owner
        if True:  # ASYNC
            self.task: asyncio.Task[Any] | None = None  # the task that entered it
        self.state = BLOCK_NEW
        self.failed: str | None = None  # the write that failed inside it
        self.wrote = False  # a failure inside it takes writes with it

    async def open(self) -> None:
        """Begin the block in storage (raises the domain error if storage fails)."""
        raise NotImplementedError

    async def leave(self, roll_back: bool) -> None:
        """End the block in storage, rolling back what it wrote first if `roll_back`."""
        raise NotImplementedError

    async def __aenter__(self) -> None:
        owner = self.owner
        owner.writable()
        if self.state is not BLOCK_NEW:
            raise UnitOfWorkMisuse(ENTERED_ONCE)
        if owner.autocommit:
            raise UnitOfWorkMisuse(AUTOCOMMIT_SAVEPOINT)
        self.state = BLOCK_CLOSED  # until storage has it: a failed entry leaves no block
        if True:  # ASYNC
            self.task = asyncio.current_task()
        await self.open()
        self.state = BLOCK_OPEN
        owner.savepoints.append(self)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        owner = self.owner
        if owner.busy and self.state is BLOCK_OPEN:
            raise UnitOfWorkBusy()  # left from add_many's rows: the import goes on
        if self.state is BLOCK_LOST or (self.state is BLOCK_OPEN and not owner.active):
            # Rolled back with the whole transaction: nothing of it to leave.
            self.state = BLOCK_CLOSED
            if exc is None and owner.blocked is not None:
                raise RollbackRequired(owner.blocked.failed)
            return
        if self.state is not BLOCK_OPEN:
            raise UnitOfWorkMisuse(NOT_OPEN)
        if owner.savepoints[-1] is not self:
            await owner.out_of_order()
            self.state = BLOCK_CLOSED
            if exc is None:
                raise UnitOfWorkMisuse(LEFT_OUT_OF_ORDER)
            return
        owner.savepoints.pop()
        self.state = BLOCK_CLOSED
        owner.blocked = None if owner.failed is None else RollbackRequired(owner.failed)
        if self.failed is None and exc is None and self.wrote and owner.savepoints:
            owner.savepoints[-1].wrote = True  # its writes are the outer block's now
        try:
            await self.leave(self.failed is None and exc is not None)
        except DomainError:
            if exc is None:
                raise
            return  # the caller's own error goes on; the unit of work now refuses writes
        if self.failed is not None and exc is None:
            raise RollbackRequired(self.failed, savepoint=True)


def flags_refused(read_only: object, autocommit: object) -> InvalidInput:
    """What a unit-of-work factory raises for flags that are not bools ("false", 1, None):
    taken by truth, they would change what a failure undoes."""
    flags = {"read_only": read_only, "autocommit": autocommit}
    return InvalidInput(
        "; ".join(
            f"{name}: must be True or False" for name, v in flags.items() if type(v) is not bool
        )
    )


M = TypeVar("M", bound=Callable[..., Any])


def write_rule(lifecycle_of: str) -> Callable[[M], M]:
    """The decorator marking a repository method that writes, for repositories that keep their
    lifecycle in the attribute `lifecycle_of`: whatever the method raises, including arguments
    refused before anything was touched, rolls the unit of work (or its innermost savepoint
    block) back; refusals roll nothing back."""
    owner_of = attrgetter(lifecycle_of)

    def write(method: M) -> M:
        name = call_name(method)

        @functools.wraps(method)
        async def run(self: Any, *args: Any, **kwargs: Any) -> Any:
            owner: AsyncLifecycle = owner_of(self)
            undos = owner.undos
            try:
                return await method(self, *args, **kwargs)
            except BaseException as exc:
                await owner.failed_write(name, exc, undos)
                raise

        return run  # type: ignore[return-value]

    return write
