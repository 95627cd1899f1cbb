# Generated from carts_async.py (tools/generate_sync.py): edit that instead.
"""In-memory cart repository: the cart aggregate with its items and their current prices."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from adapters.memory.database import CartRow, ItemRow
from adapters.memory.transaction import write
from domain.errors import (
    CartFull,
    CartItemNotFound,
    CartNotFound,
    InsufficientInventory,
    ProductNotFound,
    UserNotFound,
)
from domain.model import Cart, CartItem
from domain.validation import every, flag, identifier, line_arguments
from domain.values import CART_LINES_MAX
from ports.carts import CartRepository

if TYPE_CHECKING:
    from adapters.memory.database import Tables
    from adapters.memory.transaction import MemoryTransaction

# The schema's rules on this repository's tables, by the names the migrations give them, and
# how the fake enforces each (tests/contract/test_drift.py, test_claims.py).
ENFORCED: Mapping[str, str] = {
    "cart_items_lines_max_check": "MemoryCartRepository: CART_LINES_MAX, under the writer lock",
    "carts_pkey": "MemoryDatabase.next_id",
    "carts_user_id_fkey": "get_or_create checks the user; users.delete drops carts",
    "cart_items_pkey": "MemoryDatabase.next_id",
    "cart_items_cart_id_fkey": "add_item checks the cart; users.delete drops items",
    "cart_items_product_id_fkey": "add_item checks the product; products.delete drops lines",
    "cart_items_quantity_positive_check": "domain.values.Quantity",
    "cart_items_cart_id_product_id_key": "add_item merges into the existing line",
}


def _item(tables: Tables, row: ItemRow) -> CartItem:
    product = tables.products[row.product_id]
    return CartItem(
        id=row.id,
        cart_id=row.cart_id,
        product_id=row.product_id,
        quantity=row.quantity,
        product_name=product.name,
        unit_price=product.price,
    )


def _cart(tables: Tables, row: CartRow) -> Cart:
    items = sorted((i for i in tables.items.values() if i.cart_id == row.id), key=lambda i: i.id)
    return Cart(
        id=row.id,
        user_id=row.user_id,
        items=tuple(_item(tables, i) for i in items),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _find_item(tables: Tables, cart_id: int, product_id: int) -> ItemRow | None:
    return next(
        (i for i in tables.items.values() if i.cart_id == cart_id and i.product_id == product_id),
        None,
    )


def _oldest_cart(tables: Tables, user_id: int) -> CartRow | None:
    return min(
        (c for c in tables.carts.values() if c.user_id == user_id),
        key=lambda c: c.id,
        default=None,
    )


def _load_for_user(tables: Tables, user_id: int) -> Cart | None:
    row = _oldest_cart(tables, user_id)
    return None if row is None else _cart(tables, row)


def _lines(tables: Tables, cart_id: int) -> int:
    return sum(1 for i in tables.items.values() if i.cart_id == cart_id)


def _users_cart(tables: Tables, user_id: int, product_id: int) -> CartRow:
    """The user's cart, for a change to its line of `product_id`."""
    cart = _oldest_cart(tables, user_id)
    if cart is None:
        if user_id not in tables.users:
            raise UserNotFound(user_id)
        raise CartItemNotFound(None, product_id)
    return cart


class MemoryCartRepository:
    def __init__(self, transaction: MemoryTransaction) -> None:
        self._tx = transaction

    @write
    def get_or_create(self, user_id: int) -> Cart:
        identifier(user_id, "user_id")
        existing = self.find_for_user(user_id)
        if existing is not None:
            return existing
        with self._tx.writing() as tables:
            if user_id not in tables.users:
                raise UserNotFound(user_id)
            created_meanwhile = _oldest_cart(tables, user_id)
            if created_meanwhile is not None:
                return _cart(tables, created_meanwhile)
            now = self._tx.now()
            row = CartRow(self._tx.database.next_id("carts"), user_id, now, now)
            tables.carts[row.id] = row
            return _cart(tables, row)

    def get(self, cart_id: int) -> Cart:
        identifier(cart_id, "cart_id")
        tables = self._tx.read()
        row = tables.carts.get(cart_id)
        if row is None:
            raise CartNotFound(cart_id)
        return _cart(tables, row)

    def find_for_user(self, user_id: int, *, lock: bool = False) -> Cart | None:
        every(lambda: identifier(user_id, "user_id"), lambda: flag(lock, "lock"))
        if not lock:
            return _load_for_user(self._tx.read(), user_id)
        # Writers are serialized, so becoming one is what locking the cart means here.
        with self._tx.writing(locking=True) as tables:
            return _load_for_user(tables, user_id)

    @write
    def add_item(self, cart_id: int, product_id: int, quantity: int) -> CartItem:
        line_arguments(cart_id, product_id, quantity)
        with self._tx.writing() as tables:
            product = tables.products.get(product_id)
            # Like the INSERT ... SELECT ... ON CONFLICT it stands for: an id is drawn when the
            # cart exists, whatever happens next, and the cart is checked before the product.
            existing = _find_item(tables, cart_id, product_id)
            room = existing is not None or _lines(tables, cart_id) < CART_LINES_MAX
            item_id = 0  # used only when drawn: otherwise a check below refuses
            if cart_id in tables.carts:
                item_id = self._tx.database.next_id("cart_items")
            if cart_id not in tables.carts:
                raise CartNotFound(cart_id)
            if product is None:
                raise ProductNotFound(product_id)
            if not room:
                raise CartFull(cart_id, CART_LINES_MAX)
            total = quantity + (existing.quantity if existing else 0)
            if total > product.inventory_count:
                raise InsufficientInventory(product_id, total, product.inventory_count)
            row = ItemRow(existing.id if existing else item_id, cart_id, product_id, total)
            tables.items[row.id] = row
            return _item(tables, row)

    @write
    def add_for_user(self, user_id: int, product_id: int, quantity: int) -> CartItem:
        line_arguments(user_id, product_id, quantity, "user_id")
        with self._tx.writing() as tables:
            cart = _oldest_cart(tables, user_id)
            if cart is None:
                if user_id not in tables.users:
                    raise UserNotFound(user_id)
                now = self._tx.now()
                cart = CartRow(self._tx.database.next_id("carts"), user_id, now, now)
                tables.carts[cart.id] = cart
            return self.add_item(cart.id, product_id, quantity)

    @write
    def set_quantity(self, cart_id: int, product_id: int, quantity: int) -> CartItem:
        line_arguments(cart_id, product_id, quantity)
        with self._tx.writing() as tables:
            existing = _find_item(tables, cart_id, product_id)
            if existing is None:
                raise CartItemNotFound(cart_id, product_id)
            stock = tables.products[product_id].inventory_count
            if quantity > stock:
                raise InsufficientInventory(product_id, quantity, stock)
            row = ItemRow(existing.id, cart_id, product_id, quantity)
            tables.items[row.id] = row
            return _item(tables, row)

    @write
    def set_quantity_for_user(self, user_id: int, product_id: int, quantity: int) -> CartItem:
        line_arguments(user_id, product_id, quantity, "user_id")
        with self._tx.writing() as tables:
            cart = _users_cart(tables, user_id, product_id)
            return self.set_quantity(cart.id, product_id, quantity)

    @write
    def remove_for_user(self, user_id: int, product_id: int) -> None:
        line_arguments(user_id, product_id, owner="user_id")
        with self._tx.writing() as tables:
            self.remove_item(_users_cart(tables, user_id, product_id).id, product_id)

    @write
    def remove_item(self, cart_id: int, product_id: int) -> None:
        line_arguments(cart_id, product_id)
        with self._tx.writing() as tables:
            existing = _find_item(tables, cart_id, product_id)
            if existing is None:
                raise CartItemNotFound(cart_id, product_id)
            del tables.items[existing.id]

    @write
    def clear(self, cart_id: int) -> None:
        identifier(cart_id, "cart_id")
        with self._tx.writing() as tables:
            if cart_id not in tables.carts:
                raise CartNotFound(cart_id)
            for item in [i for i in tables.items.values() if i.cart_id == cart_id]:
                del tables.items[item.id]


# The class's conformance to its port: `mypy src` fails here when a port method is missing
# or its signature differs.
_conforms: type[CartRepository] = MemoryCartRepository
