"""Carts: filling and viewing a cart, and checking it out."""

from __future__ import annotations

from domain.errors import EmptyCart
from domain.model import Cart, Receipt, ReceiptLine
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
    def add_to_cart(self, user_id: int, product_id: int, quantity: int = 1) -> Cart:
        """Add to the user's cart (creating it), refusing more than the stock on hand in total.
        Raises UserNotFound, ProductNotFound, InsufficientInventory or InvalidInput."""
        valid_quantity(quantity)
        identifier(product_id, "product_id")
        with self._uow() as uow:
            cart = uow.carts.get_or_create(user_id)
            # The repository checks the stock in the same step as it writes: no race.
            uow.carts.add_item(cart.id, product_id, quantity)
            cart = uow.carts.get(cart.id)
            uow.commit()
        return cart

    @use_case
    def change_quantity(self, user_id: int, product_id: int, quantity: int) -> Cart:
        """Set the quantity of a product already in the cart (>= 1; remove it to drop it).
        Raises CartItemNotFound, ProductNotFound, InsufficientInventory or InvalidInput."""
        valid_quantity(quantity)
        with self._uow() as uow:
            cart = uow.carts.get_or_create(user_id)
            uow.carts.set_quantity(cart.id, product_id, quantity)
            cart = uow.carts.get(cart.id)
            uow.commit()
        return cart

    @use_case
    def remove_from_cart(self, user_id: int, product_id: int) -> Cart:
        """Raises CartItemNotFound."""
        with self._uow() as uow:
            cart = uow.carts.get_or_create(user_id)
            uow.carts.remove_item(cart.id, product_id)
            cart = uow.carts.get(cart.id)
            uow.commit()
        return cart

    @use_case
    def view_cart(self, user_id: int) -> Cart | None:
        """The user's cart with current prices, line totals and total; None if there is none."""
        with self._uow(read_only=True) as uow:
            return uow.carts.find_for_user(user_id)

    @use_case
    def checkout(self, user_id: int) -> Receipt:
        """Reserve stock for every line and empty the cart, all or nothing: if any line is short,
        nothing is reserved and the cart is unchanged. Raises EmptyCart or InsufficientInventory
        (naming the first short product)."""
        return retrying(lambda: self._checkout(user_id))

    def _checkout(self, user_id: int) -> Receipt:
        with self._uow() as uow:
            cart = uow.carts.find_for_user(user_id, lock=True)
            if cart is None or cart.is_empty:
                raise EmptyCart(user_id)
            lines = []
            # Always lock products in id order, so concurrent checkouts cannot deadlock.
            for item in sorted(cart.items, key=lambda i: i.product_id):
                product = uow.products.reserve(item.product_id, item.quantity)
                lines.append(
                    ReceiptLine(
                        product_id=product.id,
                        product_name=product.name,
                        unit_price=product.price,
                        quantity=item.quantity,
                    )
                )
            uow.carts.clear(cart.id)
            uow.commit()
        return Receipt(user_id=user_id, cart_id=cart.id, lines=tuple(lines))
