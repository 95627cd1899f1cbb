"""PostgreSQL cart repository: the cart aggregate in one round trip, items by upsert."""

from __future__ import annotations

from typing import Any

from adapters.postgres.rows import columns, mapper, trusted
from adapters.postgres.session import Session, returned
from domain.errors import CartItemNotFound, CartNotFound, UserNotFound
from domain.model import Cart, CartItem
from domain.validation import identifier
from domain.validation import quantity as valid_quantity

CART_COLUMNS = "id, user_id, created_at, updated_at"
ITEM_COLUMNS = "id, cart_id, product_id, quantity"
# A cart item joined with its product, in CartItem's field order: rows map by position.
ITEM = columns(
    CartItem,
    " i.product_id, p.name AS product_name, p.price AS unit_price, i.quantity, i.id, i.cart_id",
)

# The cart, its items and their products' names and prices, in one round trip: one row per
# item, or a single row of NULL items for an empty cart.
_LOAD = (
    "SELECT c.id, c.user_id, c.created_at, c.updated_at," + ITEM + " FROM carts c"
    " LEFT JOIN (cart_items i JOIN products p ON p.id = i.product_id) ON i.cart_id = c.id"
    " WHERE c.id = {cart} ORDER BY i.id"
)
LOAD_BY_ID = _LOAD.format(cart="%(cart_id)s")
OLDEST_CART = "(SELECT id FROM carts WHERE user_id = %(user_id)s ORDER BY id LIMIT 1)"
LOAD_FOR_USER = _LOAD.format(cart=OLDEST_CART)
# The same, locking the cart and its items until the transaction ends: an insert into the cart
# needs a key-share lock on the cart row, which FOR UPDATE blocks.
LOAD_FOR_USER_LOCKED = (
    "WITH c AS (SELECT " + CART_COLUMNS + " FROM carts WHERE id = " + OLDEST_CART + " FOR UPDATE),"
    " i AS (SELECT " + ITEM_COLUMNS + " FROM cart_items"
    " WHERE cart_id = (SELECT id FROM c) FOR UPDATE)"
    " SELECT c.id, c.user_id, c.created_at, c.updated_at,"
    + ITEM
    + " FROM c LEFT JOIN (i JOIN products p ON p.id = i.product_id) ON TRUE ORDER BY i.id"
)
LOCK_USER = "SELECT 1 FROM users WHERE id = %s FOR NO KEY UPDATE"
INSERT_CART = "INSERT INTO carts (user_id) VALUES (%s) RETURNING " + CART_COLUMNS
_WITH_PRODUCT = " SELECT" + ITEM + " FROM x i JOIN products p ON p.id = i.product_id"
ADD_ITEM = (
    "WITH x AS (INSERT INTO cart_items (cart_id, product_id, quantity)"
    " VALUES (%(cart_id)s, %(product_id)s, %(quantity)s)"
    " ON CONFLICT ON CONSTRAINT cart_items_cart_id_product_id_key"
    " DO UPDATE SET quantity = cart_items.quantity + EXCLUDED.quantity"
    " RETURNING " + ITEM_COLUMNS + ")" + _WITH_PRODUCT
)
SET_QUANTITY = (
    "WITH x AS (UPDATE cart_items SET quantity = %(quantity)s"
    " WHERE cart_id = %(cart_id)s AND product_id = %(product_id)s"
    " RETURNING " + ITEM_COLUMNS + ")" + _WITH_PRODUCT
)
REMOVE_ITEM = "DELETE FROM cart_items WHERE cart_id = %s AND product_id = %s"
CLEAR = (
    "WITH gone AS (DELETE FROM cart_items WHERE cart_id = %(cart_id)s)"
    " SELECT EXISTS (SELECT 1 FROM carts WHERE id = %(cart_id)s)"
)


to_item = mapper(CartItem)


def to_cart(rows: list[tuple[Any, ...]]) -> Cart | None:
    """The aggregate from the rows of a load query; None when there were none."""
    if not rows:
        return None
    # An empty cart is one row whose item columns (from the fifth on) are all NULL.
    items = tuple([to_item(row[4:]) for row in rows if row[4] is not None])
    return _cart_row(rows[0], items)


def _cart_row(row: tuple[Any, ...], items: tuple[CartItem, ...]) -> Cart:
    return trusted(
        Cart,
        {
            "id": row[0],
            "user_id": row[1],
            "items": items,
            "created_at": row[2],
            "updated_at": row[3],
        },
    )


def _ids(cart_id: int, product_id: int) -> None:
    identifier(cart_id, "cart_id")
    identifier(product_id, "product_id")


class PostgresCartRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def get_or_create(self, user_id: int) -> Cart:
        identifier(user_id, "user_id")
        existing = self.find_for_user(user_id)
        if existing is not None:
            return existing
        with self._s.writing(user_id=user_id) as cur:
            # Serialize creators for this user, then look again: someone may have won the race.
            if cur.execute(LOCK_USER, (user_id,)).fetchone() is None:
                raise UserNotFound(user_id)
            cart = to_cart(cur.execute(LOAD_FOR_USER, {"user_id": user_id}).fetchall())
            if cart is None:
                row = returned(cur.execute(INSERT_CART, (user_id,)).fetchone())
                cart = _cart_row(row, ())
        return cart

    def get(self, cart_id: int) -> Cart:
        identifier(cart_id, "cart_id")
        with self._s.reading() as cur:
            cart = to_cart(cur.execute(LOAD_BY_ID, {"cart_id": cart_id}).fetchall())
        if cart is None:
            raise CartNotFound(cart_id)
        return cart

    def find_for_user(self, user_id: int, *, lock: bool = False) -> Cart | None:
        identifier(user_id, "user_id")
        if lock:
            with self._s.writing() as cur:
                rows = cur.execute(LOAD_FOR_USER_LOCKED, {"user_id": user_id}).fetchall()
        else:
            with self._s.reading() as cur:
                rows = cur.execute(LOAD_FOR_USER, {"user_id": user_id}).fetchall()
        return to_cart(rows)

    def add_item(self, cart_id: int, product_id: int, quantity: int) -> CartItem:
        _ids(cart_id, product_id)
        valid_quantity(quantity)
        values = {"cart_id": cart_id, "product_id": product_id, "quantity": quantity}
        with self._s.writing(one_statement=True, field="quantity", **values) as cur:
            row = cur.execute(ADD_ITEM, values).fetchone()
        return to_item(returned(row))

    def set_quantity(self, cart_id: int, product_id: int, quantity: int) -> CartItem:
        _ids(cart_id, product_id)
        valid_quantity(quantity)
        values = {"cart_id": cart_id, "product_id": product_id, "quantity": quantity}
        with self._s.writing(one_statement=True) as cur:
            row = cur.execute(SET_QUANTITY, values).fetchone()
            if row is None:
                raise CartItemNotFound(cart_id, product_id)
        return to_item(row)

    def remove_item(self, cart_id: int, product_id: int) -> None:
        _ids(cart_id, product_id)
        with self._s.writing(one_statement=True) as cur:
            if cur.execute(REMOVE_ITEM, (cart_id, product_id)).rowcount == 0:
                raise CartItemNotFound(cart_id, product_id)

    def clear(self, cart_id: int) -> None:
        identifier(cart_id, "cart_id")
        with self._s.writing(one_statement=True) as cur:
            exists = returned(cur.execute(CLEAR, {"cart_id": cart_id}).fetchone())[0]
            if not exists:
                raise CartNotFound(cart_id)
