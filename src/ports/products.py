# Generated from products_async.py (tools/generate_sync.py): edit that instead.
"""The product repository port."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from domain.model import NewProduct, Product, ProductChanges, ProductSummary
from domain.search import Page, ProductQuery


class ProductRepository(Protocol):
    """Every method that takes an id raises InvalidInput for one that is not an int from 1 to
    2**63 - 1 (a bool, float or string is not an id), before any statement runs.

    A deleted product is archived, never removed: from then on every method here, and every
    cart, treats it as absent (ProductNotFound, left out of `get_many` and `search`), while
    the order lines that sold it keep its id, name and price as sold."""

    def add(self, product: NewProduct) -> Product:
        """Store a new product at version 1 and return it."""
        ...

    def add_many(self, products: Iterable[NewProduct]) -> int:
        """Store many products (the bulk path) and return how many were stored.

        `products` is consumed as a stream, so memory does not grow with its length. All or
        nothing, within the unit of work's transaction: if anything raises while it is consumed
        or stored (a bad row, an error in the storage, any exception from the caller's iterable,
        KeyboardInterrupt), the unit of work is rolled back to its last commit, as after any
        failed write, and the exception propagates; a later commit() stores none of it.

        An asynchronous unit of work reads `products` on its event loop, so the iterable must
        not block; rows that come from asynchronous I/O (an upload, another database) would
        need an asynchronous iterable, which is not accepted yet."""
        ...

    def get(self, product_id: int) -> Product:
        """Raises ProductNotFound."""
        ...

    def get_many(self, product_ids: Sequence[int]) -> dict[int, Product]:
        """The products that exist among `product_ids`, by id; missing ids are left out.
        Raises InvalidInput for anything but a sequence of ids."""
        ...

    def update(self, product_id: int, expected_version: int, changes: ProductChanges) -> Product:
        """Apply `changes` if the product is still at `expected_version`; the version goes up by
        one. Raises ProductNotFound, or ConcurrencyConflict when the version moved on."""
        ...

    def delete(self, product_id: int) -> None:
        """Archive the product (soft delete), whether or not it was ever sold: it disappears
        from `get`, `get_many`, `search` and every cart (its cart lines are deleted), and
        `update`, `restock`, `reserve` and `delete` raise ProductNotFound for it. Orders are
        not touched. Raises ProductNotFound, also for a product archived already.

        Against concurrent units of work, the product's row lock decides: a cart add or a
        checkout that holds the product first finishes first (the line it added is then
        deleted; the order it placed stays); one that comes later waits for this one and then
        finds the product gone (ProductNotFound; a checkout sells the cart's other lines).
        An archived product is never sold."""
        ...

    def restock(self, product_id: int, quantity: int) -> Product:
        """Add `quantity` (>= 1) units to the inventory. Raises ProductNotFound, or InvalidInput
        for a bad quantity or an inventory that would not fit the column."""
        ...

    def reserve(self, product_id: int, quantity: int) -> Product:
        """Atomically take `quantity` (>= 1) units out of inventory; never below zero.

        Raises ProductNotFound, InsufficientInventory (with what is available), or
        InvalidInput for a bad quantity."""
        ...

    def search(self, query: ProductQuery) -> Page[ProductSummary]:
        """One page of the products matching `query`, in its sort order, as summaries (no
        description: `get` returns the whole product); `next_cursor` fetches
        the following page and is None on the last one. Raises InvalidInput for a cursor that
        no page returned (for this sort order).

        `query.text` matches anywhere in the name, both folded by Unicode's simple case
        folding (domain.folding.fold: one character for one, no normalization). So "CRÈME"
        finds "crème", "ΟΔΟΣ" finds "οδος" and "STRAẞE" finds "Straße", while "ss" does not
        find "ß" and "istanbul" does not find "İstanbul" (their foldings are longer). The
        same on both adapters and on every database locale. `%`, `_` and `\\` match
        literally."""
        ...
