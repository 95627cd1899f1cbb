# Generated from carts_async.py (tools/generate_sync.py): edit that instead.
"""PostgreSQL cart repository: the cart aggregate in one round trip, items by upsert."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg

from adapters.postgres.errors import A_CHECK, NEVER_SUPPLIED, ConstraintErrors, constraint_of
from adapters.postgres.rows import columns, mapper, trusted
from adapters.postgres.session import Session, returned, write
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

LINES_MAX_CHECK = "cart_items_lines_max_check"  # 0009's trigger

# Raised by these statements, with the values each passes to `writing`: a cart or a line whose
# user, cart or product was deleted meanwhile.
CONSTRAINT_ERRORS: ConstraintErrors = {
    "carts_user_id_fkey": lambda c: UserNotFound(c.get("user_id")),
    "cart_items_cart_id_fkey": lambda c: CartNotFound(c.get("cart_id")),
    "cart_items_product_id_fkey": lambda c: ProductNotFound(c.get("product_id")),
    # 0009's trigger, the line cap: `_add` turns it into CartFull itself, with the cart id it
    # holds (add_for_user's context has none); this entry serves any other statement.
    LINES_MAX_CHECK: lambda c: CartFull(c.get("cart_id"), CART_LINES_MAX),
}

# This repository's constraints that need no domain error, each with the reason.
UNMAPPED: Mapping[str, str] = {
    "carts_pkey": NEVER_SUPPLIED,
    "cart_items_pkey": NEVER_SUPPLIED,
    "cart_items_quantity_positive_check": A_CHECK,
    "cart_items_cart_id_product_id_key": "every write of a line is an upsert ON CONFLICT of it",
}

CART_COLUMNS = columns(Cart, "id, user_id, created_at, updated_at", nested=("items",))
CART_HEAD = columns(Cart, "c.id, c.user_id, c.created_at, c.updated_at", nested=("items",))
ITEM_COLUMNS = "id, cart_id, product_id, quantity"
# A cart item joined with its product, in CartItem's field order: rows map by position.
ITEM = columns(
    CartItem,
    " i.product_id, p.name AS product_name, p.price AS unit_price, i.quantity, i.id, i.cart_id",
)

# Every statement about a user's cart filters by user id as well (OLDEST_CART, `user_id = `):
# on a Citus cluster the user's carts and lines are on one node, and such a statement runs
# there alone; the joins between a cart and its lines are on user id and cart id for the same
# reason. Statements given a cart id only (`get`, `add_item`, ...) join on user id too, and on
# a cluster ask every node (docs/scale-out.md).
#
# The cart, its items and their products' names and prices, in one round trip: one row per
# item, or a single row of NULL items for an empty cart.
_LOAD = (
    "SELECT " + CART_HEAD + "," + ITEM + " FROM carts c"
    " LEFT JOIN (cart_items i JOIN products p ON p.id = i.product_id)"
    " ON i.user_id = c.user_id AND i.cart_id = c.id"
    " WHERE {cart} ORDER BY i.id"
)
LOAD_BY_ID = _LOAD.format(cart="c.id = %(cart_id)s")
OLDEST_CART = "(SELECT id FROM carts WHERE user_id = %(user_id)s ORDER BY id LIMIT 1)"
LOAD_FOR_USER = _LOAD.format(cart="c.user_id = %(user_id)s AND c.id = " + OLDEST_CART)
# Checkout's lock, in two statements: a statement reads the snapshot taken when it started,
# so items read by the statement that waited for the cart's lock would miss a line committed
# during the wait (and clearing the cart would then delete it unsold). The load runs after the
# lock is held. Its items are locked too: changing a quantity takes no lock on the cart row.
LOCK_FOR_USER = "SELECT id FROM carts WHERE user_id = %(user_id)s ORDER BY id LIMIT 1 FOR UPDATE"
LOAD_LOCKED = (
    "WITH i AS (SELECT " + ITEM_COLUMNS + " FROM cart_items"
    " WHERE user_id = %(user_id)s AND cart_id = %(cart_id)s FOR UPDATE)"
    " SELECT "
    + CART_HEAD
    + ","
    + ITEM
    + " FROM carts c LEFT JOIN (i JOIN products p ON p.id = i.product_id) ON TRUE"
    " WHERE c.user_id = %(user_id)s AND c.id = %(cart_id)s ORDER BY i.id"
)
# An archived user (deleted_at set) has no cart and gets none: its row is locked for update
# while it is archived, so a cart cannot be created for it meanwhile either.
LOCK_USER = "SELECT 1 FROM users WHERE id = %s AND deleted_at IS NULL FOR NO KEY UPDATE"
INSERT_CART = "INSERT INTO carts (user_id) VALUES (%s) RETURNING " + CART_COLUMNS
_WITH_PRODUCT = " SELECT" + ITEM + " FROM x i JOIN products p ON p.id = i.product_id"
# The stock rule and the write in one statement, so that two concurrent adds cannot both
# pass it: the rule is 0011's trigger cart_items_stock, which runs before each line is written
# (a new one, or a quantity changed), and leaves out a line over the product's stock on hand,
# or of a product that is archived or missing: the statement then returns no row. A second
# insert of the same line waits for the first at the unique index, then its DO UPDATE runs the
# trigger on the line as the first left it. The product's row is not locked for long: carts do
# not reserve stock, they only never ask for more than there is. A new line takes a key-share
# lock on it (as the foreign key check does anyway), in the trigger: archiving holds the row
# FOR UPDATE, so an add either finishes first (and archiving then deletes its line) or waits
# and, re-checking the row, finds it archived. The line's user id is its cart's.
# A new line only while the cart holds fewer than CART_LINES_MAX: 0009's trigger counts after
# each new line, holding the cart's lock (CartFull, see `_add`).
_ADD = (
    "WITH x AS (INSERT INTO cart_items (user_id, cart_id, product_id, quantity)"
    " SELECT user_id, id, %(product_id)s, %(quantity)s FROM carts WHERE {cart}"
    " ON CONFLICT ON CONSTRAINT cart_items_cart_id_product_id_key"
    " DO UPDATE SET quantity = cart_items.quantity + EXCLUDED.quantity"
    " WHERE cart_items.quantity::int8 + EXCLUDED.quantity <= 2147483647"
    " RETURNING " + ITEM_COLUMNS + ")" + _WITH_PRODUCT
)
ADD_ITEM = _ADD.format(cart="id = %(cart_id)s")
ADD_FOR_USER = _ADD.format(cart="user_id = %(user_id)s AND id = %(cart_id)s")
# Why a line was not written: the cart, the product's stock, the line's quantity, the lines.
LINE_STATE = (
    "SELECT EXISTS (SELECT 1 FROM carts WHERE id = %(cart_id)s),"
    " (SELECT inventory_count FROM products WHERE id = %(product_id)s AND deleted_at IS NULL),"
    " (SELECT quantity FROM cart_items"
    " WHERE cart_id = %(cart_id)s AND product_id = %(product_id)s),"
    " (SELECT count(*) FROM cart_items WHERE cart_id = %(cart_id)s)"
)
# The user's cart, locked against other adds (not against reads) until the transaction ends.
LOCK_TO_ADD = (
    "SELECT id FROM carts WHERE user_id = %(user_id)s ORDER BY id LIMIT 1 FOR NO KEY UPDATE"
)
# The stock rule is cart_items_stock's here too: a quantity over the stock writes nothing.
SET_QUANTITY = (
    "WITH x AS (UPDATE cart_items SET quantity = %(quantity)s"
    " WHERE cart_id = %(cart_id)s AND product_id = %(product_id)s"
    " RETURNING " + ITEM_COLUMNS + ")" + _WITH_PRODUCT
)
REMOVE_ITEM = "DELETE FROM cart_items WHERE cart_id = %s AND product_id = %s"
# The same two writes on the user's cart, found by the primary key of carts (user_id, id): one
# statement each whatever the cart holds. Like SET_QUANTITY, they lock the line, not the cart.
SET_QUANTITY_FOR_USER = (
    "WITH x AS (UPDATE cart_items SET quantity = %(quantity)s"
    " WHERE user_id = %(user_id)s AND cart_id = " + OLDEST_CART + " AND product_id = %(product_id)s"
    " RETURNING " + ITEM_COLUMNS + ")" + _WITH_PRODUCT
)
REMOVE_FOR_USER = (
    "DELETE FROM cart_items WHERE user_id = %(user_id)s AND cart_id = "
    + OLDEST_CART
    + " AND product_id = %(product_id)s"
)
# Why the user's line was not written: the user, the cart, the product's stock, the line.
USER_LINE_STATE = (
    "SELECT EXISTS (SELECT 1 FROM users WHERE id = %(user_id)s AND deleted_at IS NULL), "
    + OLDEST_CART
    + ","
    " (SELECT inventory_count FROM products WHERE id = %(product_id)s AND deleted_at IS NULL),"
    " (SELECT quantity FROM cart_items WHERE user_id = %(user_id)s"
    " AND cart_id = " + OLDEST_CART + " AND product_id = %(product_id)s)"
)
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


class PostgresCartRepository:
    __slots__ = ("_s",)

    def __init__(self, session: Session) -> None:
        self._s = session

    @write
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
        every(lambda: identifier(user_id, "user_id"), lambda: flag(lock, "lock"))
        if lock:
            with self._s.writing(locking=True) as cur:
                locked = cur.execute(LOCK_FOR_USER, {"user_id": user_id}).fetchone()
                if locked is None:
                    return None
                rows = cur.execute(
                    LOAD_LOCKED, {"user_id": user_id, "cart_id": locked[0]}
                ).fetchall()
        else:
            with self._s.reading() as cur:
                rows = cur.execute(LOAD_FOR_USER, {"user_id": user_id}).fetchall()
        return to_cart(rows)

    @write
    def add_item(self, cart_id: int, product_id: int, quantity: int) -> CartItem:
        line_arguments(cart_id, product_id, quantity)
        with self._s.writing(
            one_statement=True, field="quantity", cart_id=cart_id, product_id=product_id
        ) as cur:
            return self._add(cur, ADD_ITEM, {"cart_id": cart_id}, product_id, quantity)

    @write
    def add_for_user(self, user_id: int, product_id: int, quantity: int) -> CartItem:
        line_arguments(user_id, product_id, quantity, "user_id")
        # The cart is locked before the line is written, so its foreign key cannot fail.
        with self._s.writing(
            field="quantity", user_id=user_id, cart_id=None, product_id=product_id
        ) as cur:
            locked = cur.execute(LOCK_TO_ADD, {"user_id": user_id}).fetchone()
            if locked is None:
                if cur.execute(LOCK_USER, (user_id,)).fetchone() is None:
                    raise UserNotFound(user_id)
                locked = cur.execute(LOCK_TO_ADD, {"user_id": user_id}).fetchone()
                if locked is None:
                    locked = returned(cur.execute(INSERT_CART, (user_id,)).fetchone())
            cart = {"user_id": user_id, "cart_id": locked[0]}
            return self._add(cur, ADD_FOR_USER, cart, product_id, quantity)

    def _add(
        self, cur: Any, statement: str, cart: dict[str, int], product_id: int, quantity: int
    ) -> CartItem:
        cart_id = cart["cart_id"]
        values = {**cart, "product_id": product_id, "quantity": quantity}
        try:
            # The cap is 0009's trigger alone: counting in this statement as well cost every add
            # ~20 µs of its ~430 µs, and only its trigger's count holds under concurrent adds.
            row = cur.execute(statement, values).fetchone()
        except psycopg.Error as exc:
            # By name, as a Citus coordinator relays it too (no name field, maybe XX000).
            if constraint_of(exc, (LINES_MAX_CHECK,)) != LINES_MAX_CHECK:
                raise
            raise CartFull(cart_id, CART_LINES_MAX) from exc  # the cart id add_for_user found
        if row is None:
            cart, stock, line, lines = returned(cur.execute(LINE_STATE, values).fetchone())
            if not cart:
                raise CartNotFound(cart_id)
            if stock is None:
                raise ProductNotFound(product_id)
            if line is None and lines >= CART_LINES_MAX:
                raise CartFull(cart_id, CART_LINES_MAX)
            raise InsufficientInventory(product_id, quantity + (line or 0), stock)
        return to_item(row)

    @write
    def set_quantity(self, cart_id: int, product_id: int, quantity: int) -> CartItem:
        line_arguments(cart_id, product_id, quantity)
        values = {"cart_id": cart_id, "product_id": product_id, "quantity": quantity}
        with self._s.writing(one_statement=True) as cur:
            row = cur.execute(SET_QUANTITY, values).fetchone()
            if row is None:
                _, stock, line, _ = returned(cur.execute(LINE_STATE, values).fetchone())
                if line is None:
                    raise CartItemNotFound(cart_id, product_id)
                raise InsufficientInventory(product_id, quantity, stock)
        return to_item(row)

    @write
    def set_quantity_for_user(self, user_id: int, product_id: int, quantity: int) -> CartItem:
        line_arguments(user_id, product_id, quantity, "user_id")
        values = {"user_id": user_id, "product_id": product_id, "quantity": quantity}
        with self._s.writing(one_statement=True) as cur:
            row = cur.execute(SET_QUANTITY_FOR_USER, values).fetchone()
            if row is None:
                _, cart_id, stock, line = self._user_line(cur, values)
                if line is None:
                    raise CartItemNotFound(cart_id, product_id)
                raise InsufficientInventory(product_id, quantity, stock)
        return to_item(row)

    @write
    def remove_item(self, cart_id: int, product_id: int) -> None:
        line_arguments(cart_id, product_id)
        with self._s.writing(one_statement=True) as cur:
            if cur.execute(REMOVE_ITEM, (cart_id, product_id)).rowcount == 0:
                raise CartItemNotFound(cart_id, product_id)

    @write
    def remove_for_user(self, user_id: int, product_id: int) -> None:
        line_arguments(user_id, product_id, owner="user_id")
        values = {"user_id": user_id, "product_id": product_id}
        with self._s.writing(one_statement=True) as cur:
            if cur.execute(REMOVE_FOR_USER, values).rowcount == 0:
                cart_id = self._user_line(cur, values)[1]
                raise CartItemNotFound(cart_id, product_id)

    @staticmethod
    def _user_line(cur: Any, values: dict[str, int]) -> tuple[Any, ...]:
        """The user's cart, the product's stock and the line; raises UserNotFound."""
        state = returned(cur.execute(USER_LINE_STATE, values).fetchone())
        if not state[0]:
            raise UserNotFound(values["user_id"])
        return state

    @write
    def clear(self, cart_id: int) -> None:
        identifier(cart_id, "cart_id")
        with self._s.writing(one_statement=True) as cur:
            exists = returned(cur.execute(CLEAR, {"cart_id": cart_id}).fetchone())[0]
            if not exists:
                raise CartNotFound(cart_id)


# The class's conformance to its port: `mypy src` fails here when a port method is missing
# or its signature differs.
_conforms: type[CartRepository] = PostgresCartRepository
