# Generated from carts_async.py (tools/generate_sync.py): edit that instead.
"""The cart repository port: the cart aggregate and its items."""

from __future__ import annotations

from typing import Protocol

from domain.model import Cart, CartItem


class CartRepository(Protocol):
    """Every method that takes an id raises InvalidInput for one that is not an int from 1 to
    2**63 - 1 (a bool, float or string is not an id), before any statement runs."""

    def get_or_create(self, user_id: int) -> Cart:
        """The user's cart (the oldest, if several), created empty if there is none.
        Raises UserNotFound."""
        ...

    def get(self, cart_id: int) -> Cart:
        """The cart with all its items. Raises CartNotFound."""
        ...

    def find_for_user(self, user_id: int, *, lock: bool = False) -> Cart | None:
        """The user's cart with its items, or None if the user has none. With `lock`, the cart
        and its items stay locked until the unit of work ends: nothing can add to, change or
        empty the cart meanwhile (use it before checking out). The items are read once the lock
        is held, so they include every change committed while it waited. The lines are locked
        before their products, where archiving a product takes the product first: reserving a
        line's product afterwards in the same unit of work can meet an archiving of it in a
        deadlock, which the database ends by failing one of the two with TransientConflict
        (run that unit of work again).
        `OrderRepository.place` takes the products first and never does.
        A locking read needs a transaction to hold its locks: it raises ReadOnlyViolation in a
        read-only unit of work, and RollbackRequired after a failed write, as a write does;
        when it fails itself (a lock it gave up waiting for), it refuses later writes only if
        the unit of work had written before it."""
        ...

    def add_item(self, cart_id: int, product_id: int, quantity: int) -> CartItem:
        """Put `quantity` (>= 1) of a product into the cart; if it is there already, its
        quantity grows by `quantity`. A line never holds more than the product's stock on
        hand: the check and the write are one atomic step, so concurrent adds cannot pass it
        together. Raises, checked in this order, CartNotFound, ProductNotFound, CartFull (a
        new line in a cart holding CART_LINES_MAX = 1,000 lines already), InsufficientInventory
        (`requested` is the line's total); InvalidInput for bad arguments."""
        ...

    def add_for_user(self, user_id: int, product_id: int, quantity: int) -> CartItem:
        """`add_item` into the user's cart, creating it if there is none. The cart is locked
        against other adds first. Concurrent adds cannot pass the line cap together through
        either method: the schema locks the cart for each new line and counts again. Costs
        the same whatever the cart holds. Raises UserNotFound, ProductNotFound, CartFull,
        InsufficientInventory or InvalidInput."""
        ...

    def set_quantity(self, cart_id: int, product_id: int, quantity: int) -> CartItem:
        """Set the line's quantity, within the stock on hand (atomically). Raises
        CartItemNotFound, InsufficientInventory, or InvalidInput for a quantity below 1."""
        ...

    def set_quantity_for_user(self, user_id: int, product_id: int, quantity: int) -> CartItem:
        """`set_quantity` on the user's cart (the oldest, if several): one atomic step that
        finds the line, checks the stock on hand and writes. Costs the same whatever the cart
        holds. Raises UserNotFound, CartItemNotFound (`cart_id` None when the user has no
        cart), InsufficientInventory, or InvalidInput for a quantity below 1."""
        ...

    def remove_item(self, cart_id: int, product_id: int) -> None:
        """Raises CartItemNotFound."""
        ...

    def remove_for_user(self, user_id: int, product_id: int) -> None:
        """`remove_item` on the user's cart (the oldest, if several), in one step. Costs the
        same whatever the cart holds. Raises UserNotFound or CartItemNotFound (`cart_id` None
        when the user has no cart)."""
        ...

    def clear(self, cart_id: int) -> None:
        """Remove every item. Raises CartNotFound."""
        ...
