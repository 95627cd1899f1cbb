"""The committed state of the in-memory database, its identity sequences and its writer lock.

Isolation mirrors PostgreSQL's READ COMMITTED for the cases that matter: a reader sees the latest
committed state at each call; a writer works on a private copy taken when it first writes and
publishes it on commit. Writers are serialized by one lock (PostgreSQL would only serialize
writers of the same rows), so no two commits can ever interleave."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from domain.errors import StorageUnavailable
from domain.model import Product, User


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


@dataclass
class Tables:
    users: dict[int, User] = field(default_factory=dict)
    products: dict[int, Product] = field(default_factory=dict)
    carts: dict[int, CartRow] = field(default_factory=dict)
    items: dict[int, ItemRow] = field(default_factory=dict)
    orders: dict[int, OrderRow] = field(default_factory=dict)
    order_lines: dict[int, OrderLineRow] = field(default_factory=dict)

    def copy(self) -> Tables:
        # Rows are immutable, so copying the dicts isolates a writer completely.
        return replace(
            self,
            users=dict(self.users),
            products=dict(self.products),
            carts=dict(self.carts),
            items=dict(self.items),
            orders=dict(self.orders),
            order_lines=dict(self.order_lines),
        )


W = TypeVar("W", bound=Callable[..., Any])


def write(method: W) -> W:
    """Marks a repository method that writes: whatever it raises, including arguments refused
    before anything was touched, rolls the unit of work back (as in the PostgreSQL adapter)."""

    @functools.wraps(method)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            self._tx.rollback()  # nothing to do when writing() has rolled back already
            raise

    return run  # type: ignore[return-value]


class MemoryDatabase:
    """One in-memory database; share it between the unit-of-work factories that should see
    the same data."""

    def __init__(self, *, lock_timeout: float = 10.0) -> None:
        self.lock_timeout = lock_timeout
        self._committed = Tables()
        self._writer = threading.Lock()
        self._guard = threading.Lock()
        self._sequences = {"users": 0, "products": 0, "carts": 0, "cart_items": 0}
        self._sequences.update(orders=0, order_lines=0)

    def committed(self) -> Tables:
        with self._guard:
            return self._committed

    def next_id(self, table: str) -> int:
        """Like an identity column: a value is used up even if its transaction rolls back."""
        with self._guard:
            self._sequences[table] += 1
            return self._sequences[table]

    def begin_write(self) -> Tables:
        if not self._writer.acquire(timeout=self.lock_timeout):
            raise StorageUnavailable(
                f"timed out after {self.lock_timeout:g} s waiting for another unit of work"
            )
        return self.committed().copy()

    def publish(self, tables: Tables) -> None:
        with self._guard:
            self._committed = tables
        self._writer.release()

    def abandon(self) -> None:
        self._writer.release()

    def reset(self) -> None:
        """Empty every table and restart the sequences (like TRUNCATE ... RESTART IDENTITY)."""
        with self._writer, self._guard:
            self._committed = Tables()
            self._sequences = dict.fromkeys(self._sequences, 0)
