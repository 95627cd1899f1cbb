# Generated from carts_async.py (tools/generate_sync.py): edit that instead.
"""Carts: filling and viewing a cart, and checking it out."""

from __future__ import annotations

import uuid

from domain.model import Cart, CartItem, Order
from domain.validation import identifier
from domain.validation import quantity as valid_quantity
from ports.observation import Observer
from ports.unit_of_work import UnitOfWorkFactory
from services.observed import UNOBSERVED, use_case
from services.retry import retrying


class CartService:
    def __init__(self, uow: UnitOfWorkFactory, observer: Observer = UNOBSERVED) -> None:
        self._uow = uow
        self._observer = observer

    @use_case
    def add_to_cart(self, user_id: int, product_id: int, quantity: int = 1) -> CartItem:
        """Add to the user's cart (creating it), refusing more than the stock on hand in total
        and more than CART_LINES_MAX (1,000) lines; returns the line as it is now. Costs the
        same for any size of cart (`view_cart` shows the whole cart). Raises UserNotFound,
        ProductNotFound, CartFull, InsufficientInventory or InvalidInput."""
        valid_quantity(quantity)
        identifier(product_id, "product_id")
        with self._uow() as uow:
            # The repository checks the stock and the cap in the same step as it writes.
            item = uow.carts.add_for_user(user_id, product_id, quantity)
            uow.commit()
        return item

    @use_case
    def change_quantity(self, user_id: int, product_id: int, quantity: int) -> CartItem:
        """Set the quantity of a product already in the cart (>= 1; remove it to drop it),
        within the stock on hand; returns the line as it is now. Costs the same for any size of
        cart. Raises UserNotFound, CartItemNotFound, InsufficientInventory or InvalidInput."""
        valid_quantity(quantity)
        with self._uow() as uow:
            # The repository checks the stock in the same step as it writes.
            item = uow.carts.set_quantity_for_user(user_id, product_id, quantity)
            uow.commit()
        return item

    @use_case
    def remove_from_cart(self, user_id: int, product_id: int) -> None:
        """Drop a product from the cart. Costs the same for any size of cart. Raises
        UserNotFound, CartItemNotFound or InvalidInput."""
        with self._uow() as uow:
            uow.carts.remove_for_user(user_id, product_id)
            uow.commit()

    @use_case
    def view_cart(self, user_id: int) -> Cart | None:
        """The user's cart with current prices, line totals and total; None if there is none."""
        with self._uow(read_only=True) as uow:
            return uow.carts.find_for_user(user_id)

    @use_case
    def checkout(self, user_id: int, idempotency_key: str | None = None) -> Order:
        """Sell the cart as one order: reserve stock for every line, record the order at the
        current prices and empty the cart, all or nothing (if any line is short, nothing is
        reserved and the cart is unchanged).

        `idempotency_key` (1 to 100 characters, e.g. a UUID the caller keeps until it has an
        answer) makes the checkout safe to repeat: a call with a key already used returns that
        order and sells nothing again, after any failure, CommitOutcomeUnknown included, and
        whatever changed since (a line added, a price, an archived product): the key names the
        checkout that happened, and the cart keeps what was added after it. Use a new key for
        a new checkout. Without a key, one is drawn for this call (so its own retries are
        safe, but not the caller's).

        Raises EmptyCart, InsufficientInventory (naming the short product of lowest id) or
        InvalidInput."""
        key = uuid.uuid4().hex if idempotency_key is None else idempotency_key
        return retrying(lambda: self._checkout(user_id, key))

    def _checkout(self, user_id: int, key: str) -> Order:
        with self._uow() as uow:
            order = uow.orders.place(user_id, key)
            uow.commit()
        return order
