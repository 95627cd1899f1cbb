# Generated from orders_async.py (tools/generate_sync.py): edit that instead.
"""The order repository port: checkouts recorded as orders, and a user's order history."""

from __future__ import annotations

from typing import Protocol

from domain.model import Order
from domain.search import Page


class OrderRepository(Protocol):
    """Every method that takes an id raises InvalidInput for one that is not an int from 1 to
    2**63 - 1, before any statement runs. Orders are never changed or deleted: deleting a user
    or a product archives it, and its orders, with their lines as sold, read the same after
    as before (`get` and `list_for_user` still answer for an archived user's id)."""

    def place(self, user_id: int, idempotency_key: str) -> Order:
        """Check out the user's cart as one order: lock the cart, reserve the stock of every
        line, record the order with each product's name and price as sold, and empty the cart.
        All or nothing: if a line is short, nothing is reserved or stored.

        `idempotency_key` (1 to 100 characters) names this checkout: when the user has an
        order with that key already, that order is returned as it was sold and nothing is sold
        again, whatever happened to the first call (even CommitOutcomeUnknown) and whatever
        changed since (lines added to the cart, prices, archived products, an emptied cart);
        the cart is left as it is. The number of statements does not grow with the number of
        lines.

        Raises EmptyCart (no cart, or no lines), InsufficientInventory (the short product of
        lowest id, with the stock on hand) or InvalidInput."""
        ...

    def get(self, user_id: int, order_id: int) -> Order:
        """One of the user's orders. Raises OrderNotFound, also for another user's order."""
        ...

    def list_for_user(
        self, user_id: int, *, limit: int = 20, cursor: str | None = None
    ) -> Page[Order]:
        """The user's orders, newest (highest id) first, `limit` (1 to 100) a page; pass the
        page's `next_cursor` for the next one (None on the last page). Raises InvalidInput for a
        bad limit or a cursor not made by this method."""
        ...
