"""The committed state of the in-memory database, its identity sequences and its writer lock.

Isolation mirrors PostgreSQL's READ COMMITTED for the cases that matter: a reader sees the latest
committed state at each call; a writer works on a private copy taken when it first writes and
publishes it on commit. Writers are serialized by one lock (PostgreSQL would only serialize
writers of the same rows), so no two commits can ever interleave. Sync and async units of work
may share one database: the lock is a thread lock, which an async writer waits for by polling."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, TypeVar

from adapters.schema import SEQUENCES, TABLES
from domain.errors import StorageUnavailable
from domain.model import Product, User

R = TypeVar("R")

# How long an async writer sleeps between tries of the writer lock: short at first (a writer
# usually holds it for microseconds), doubling up to a cap that keeps a waiter's latency low.
_POLL_FIRST = 0.0005
_POLL_MAX = 0.02


@dataclass(frozen=True)
class CartRow:
    id: int
    user_id: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ItemRow:
    id: int
    cart_id: int
    product_id: int
    quantity: int


@dataclass(frozen=True)
class OrderRow:
    id: int
    user_id: int
    key: str
    status: str
    total: Decimal
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class OrderLineRow:
    id: int
    order_id: int
    product_id: int
    product_name: str
    unit_price: Decimal
    quantity: int


@dataclass(frozen=True)
class ArchivedUserRow:
    """An archived user as the schema keeps it: no password hash (and no cart)."""

    id: int
    username: str
    email: str
    created_at: datetime
    deleted_at: datetime


@dataclass(frozen=True)
class ArchivedProductRow:
    product: Product
    deleted_at: datetime


@dataclass
class Tables:
    """Every table of adapters.schema.TABLES: the core tables as typed attributes, any other by
    its name (`table(name, RowType)`), so that a table a new aggregate adds needs no edit here."""

    users: dict[int, User] = field(default_factory=dict)
    # The lookup tables of live users' usernames and emails: lowered key -> user id.
    usernames: dict[str, int] = field(default_factory=dict)
    emails: dict[str, int] = field(default_factory=dict)
    products: dict[int, Product] = field(default_factory=dict)
    carts: dict[int, CartRow] = field(default_factory=dict)
    # The schema's name, where the attribute's differs.
    items: dict[int, ItemRow] = field(default_factory=dict, metadata={"table": "cart_items"})
    orders: dict[int, OrderRow] = field(default_factory=dict)
    order_lines: dict[int, OrderLineRow] = field(default_factory=dict)
    # Archived rows leave `users` and `products`, so no read can meet them, and stay here: the
    # same tables in the schema (deleted_at set), so they name the table they are part of.
    archived_users: dict[int, ArchivedUserRow] = field(
        default_factory=dict, metadata={"archive_of": "users"}
    )
    archived_products: dict[int, ArchivedProductRow] = field(
        default_factory=dict, metadata={"archive_of": "products"}
    )
    # The declared tables without an attribute above, by name.
    by_name: dict[str, dict[int, Any]] = field(default_factory=dict, metadata={"by_name": True})

    def __post_init__(self) -> None:
        for table in TABLES:
            if table not in _ATTRIBUTES:
                self.by_name.setdefault(table, {})

    @classmethod
    def attributes(cls) -> dict[str, str]:
        """Table name -> attribute name (of the live rows, for users and products)."""
        return _ATTRIBUTES

    def rows(self, table: str) -> dict[Any, Any]:
        """The rows of `table`, by the schema's name."""
        attribute = _ATTRIBUTES.get(table)
        if attribute is None:
            return self.by_name[table]
        rows: dict[Any, Any] = getattr(self, attribute)
        return rows

    def table(self, table: str, row: type[R]) -> dict[int, R]:
        """The rows of `table`, each a `row` (what its repository stores there)."""
        return self.rows(table)

    def copy(self) -> Tables:
        # Rows are immutable, so copying the dicts isolates a writer completely.
        copies = {f.name: dict(getattr(self, f.name)) for f in fields(self) if f.name != "by_name"}
        by_name = {table: dict(rows) for table, rows in self.by_name.items()}
        return replace(self, **copies, by_name=by_name)


_ATTRIBUTES: Final = {
    f.metadata.get("table", f.name): f.name
    for f in fields(Tables)
    if "archive_of" not in f.metadata and "by_name" not in f.metadata
}


class MemoryDatabase:
    """One in-memory database; share it between the unit-of-work factories that should see
    the same data."""

    def __init__(self, *, lock_timeout: float = 10.0) -> None:
        self.lock_timeout = lock_timeout
        self._committed = Tables()
        self._writer = threading.Lock()
        self._guard = threading.Lock()
        self._sequences = dict.fromkeys(SEQUENCES, 0)
        self._position = 0  # counts commits: the fake's causal positions

    def committed(self) -> Tables:
        with self._guard:
            return self._committed

    def next_id(self, table: str) -> int:
        """Like an identity column: a value is used up even if its transaction rolls back."""
        with self._guard:
            self._sequences[table] += 1
            return self._sequences[table]

    def begin_write(self) -> Tables:
        """Take the writer lock (StorageUnavailable after `lock_timeout`) and a private copy of
        the committed tables."""
        if not self._writer.acquire(timeout=self.lock_timeout):
            raise self._timed_out()
        return self.committed().copy()

    async def begin_write_async(self) -> Tables:
        """As `begin_write`, without blocking the event loop: blocking on the lock would freeze
        the loop, and with it the task holding the lock, until the timeout. Cancelled while it
        waits, it holds nothing; once it has the lock it does not await again, so the caller
        owns the lock as soon as this returns."""
        writer = self._writer
        if not writer.acquire(blocking=False):
            deadline = time.monotonic() + self.lock_timeout
            delay = _POLL_FIRST
            while not writer.acquire(blocking=False):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._timed_out()
                await asyncio.sleep(min(delay, left))
                delay = min(delay * 2, _POLL_MAX)
        return self.committed().copy()

    def _timed_out(self) -> StorageUnavailable:
        return StorageUnavailable(
            f"timed out after {self.lock_timeout:g} s waiting for another unit of work"
        )

    def publish(self, tables: Tables) -> int:
        """Make `tables` the committed state; returns the commit's position."""
        with self._guard:
            self._committed = tables
            self._position += 1
            at = self._position
        self._writer.release()
        return at

    def abandon(self) -> None:
        self._writer.release()

    def reset(self) -> None:
        """Empty every table and restart the sequences (like TRUNCATE ... RESTART IDENTITY)."""
        with self._writer, self._guard:
            self._committed = Tables()
            self._sequences = dict.fromkeys(self._sequences, 0)
