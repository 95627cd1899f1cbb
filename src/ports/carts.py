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
        is held, so they include every change committed while it waited."""
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
        against other adds first, so concurrent adds cannot pass the line cap together. Costs
        the same whatever the cart holds. Raises UserNotFound, ProductNotFound, CartFull,
        InsufficientInventory or InvalidInput."""
        ...

    def set_quantity(self, cart_id: int, product_id: int, quantity: int) -> CartItem:
        """Set the line's quantity, within the stock on hand (atomically). Raises
        CartItemNotFound, InsufficientInventory, or InvalidInput for a quantity below 1."""
        ...

    def remove_item(self, cart_id: int, product_id: int) -> None:
        """Raises CartItemNotFound."""
        ...

    def clear(self, cart_id: int) -> None:
        """Remove every item. Raises CartNotFound."""
        ...
