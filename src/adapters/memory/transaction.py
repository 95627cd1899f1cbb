# Generated from transaction_async.py (tools/generate_sync.py): edit that instead.
"""What the repositories of one in-memory unit of work share: a private copy of the tables from
the first write until commit, and the unit of work's lifecycle (adapters/lifecycle.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from adapters.failures import failed_call
from adapters.lifecycle import Block, Lifecycle, write_rule
from adapters.memory.database import MemoryDatabase, Tables
from ports.causality import committed

# Marks a repository method that writes (the repositories keep their transaction in `_tx`).
write = write_rule("_tx")


class MemoryTransaction(Lifecycle):
    """The view the repositories of one unit of work read and write."""

    __slots__ = ("_now", "_working", "database")

    def __init__(self, database: MemoryDatabase, *, read_only: bool, autocommit: bool) -> None:
        self.begin_life(read_only, autocommit)
        self.active = False  # until the unit of work is entered
        self.database = database
        self._working: Tables | None = None
        self._now: datetime | None = None

    def read(self) -> Tables:
        """Own uncommitted changes if any, else the latest committed state."""
        if not self.active:
            raise self.refusal()
        return self._working if self._working is not None else self.database.committed()

    @contextmanager
    def writing(self, *, locking: bool = False) -> Iterator[Tables]:
        """The tables to change. Like a failed statement in PostgreSQL, a write that raises
        anything (a domain error, or a caller's iterable failing) aborts the transaction (or
        the innermost savepoint block). `locking`: a read that takes the writer's place to
        hold what it read (as SELECT ... FOR UPDATE), writing nothing."""
        self.writable()
        if not locking:
            self.wrote()
        if self._working is None:
            self._working = self.database.begin_write()
            self._now = datetime.now(UTC)
        try:
            yield self._working
        except BaseException as exc:
            self.undo(
                failed_call("a locking read" if locking else "a write", exc), writing=not locking
            )
            raise
        if self.autocommit:
            self.commit()

    def now(self) -> datetime:
        """The transaction's timestamp, like PostgreSQL's now()."""
        if self._now is None:
            self._now = datetime.now(UTC)
        return self._now

    def commit(self) -> None:
        self.written = False
        if self._working is not None:
            working, self._working = self._working, None
            committed(self.database.publish(working))
        self._now = None

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

    def discard(self) -> None:
        if self._working is not None:
            self._working = None
            self.database.abandon()
        self._now = None

    def roll_back_to(self, block: Block) -> bool:
        assert isinstance(block, MemorySavepoint)
        self.restore(block.snapshot)
        return True


class MemorySavepoint(Block):
    """A savepoint block: a copy of the writes so far, restored when a write inside the block
    fails or an exception leaves it."""

    __slots__ = ("snapshot",)

    def __init__(self, transaction: MemoryTransaction) -> None:
        super().__init__(transaction)
        self.snapshot: Tables | None = None

    def open(self) -> None:
        assert isinstance(self.owner, MemoryTransaction)
        self.snapshot = self.owner.snapshot()

    def leave(self, roll_back: bool) -> None:
        if roll_back:
            assert isinstance(self.owner, MemoryTransaction)
            self.owner.restore(self.snapshot)
