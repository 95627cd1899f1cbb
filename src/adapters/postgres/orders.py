"""PostgreSQL order repository: a checkout in a fixed number of statements, history by keyset."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapters.postgres.carts import LOCK_FOR_USER, LOCK_PRODUCTS
from adapters.postgres.errors import ConstraintErrors
from adapters.postgres.rows import columns, trusted
from adapters.postgres.session import Session, returned, write
from domain.errors import (
    EmptyCart,
    InsufficientInventory,
    OrderNotFound,
    TransientConflict,
)
from domain.history import PageSize, decode_order_cursor, encode_order_cursor
from domain.model import Order, OrderLine, OrderStatus
from domain.search import Page
from domain.validation import check, every, identifier
from domain.values import IdempotencyKey
from ports.orders import OrderRepository

# The whole checkout after the cart's lock is held (LOCK_FOR_USER, a statement of its own so
# that this one's snapshot includes every line committed while it waited) and then its
# products' (LOCK_PRODUCTS: products before lines, the order archiving takes them in). One
# statement for any number of lines; its parts see one snapshot and pass rows on only through
# RETURNING:
# - items: the cart's lines, locked (changing a quantity takes no lock on the cart row);
# - wanted: nothing when the key names an order already (`prior`): that order is returned,
#   the cart is not sold again;
# - locked: the products, locked in id order, so concurrent checkouts cannot deadlock;
# - reserved: the stock taken, re-checked on the latest row version (no oversell);
# - short: the first line that could not be reserved; then no order is written, and the
#   adapter raises, which rolls the partial reservations back;
# - new_order, lines, cleared: the order, its lines as sold, the emptied cart.
PLACE = """
WITH prior AS (
    SELECT id FROM orders WHERE user_id = %(user_id)s AND idempotency_key = %(key)s
), items AS (
    SELECT product_id, quantity FROM cart_items WHERE cart_id = %(cart_id)s FOR UPDATE
), wanted AS (
    SELECT product_id, quantity FROM items WHERE NOT EXISTS (SELECT FROM prior)
), locked AS (
    SELECT id FROM products WHERE id IN (SELECT product_id FROM wanted)
    AND deleted_at IS NULL ORDER BY id FOR NO KEY UPDATE
), reserved AS (
    UPDATE products p SET inventory_count = p.inventory_count - w.quantity
    FROM wanted w
    WHERE p.id = w.product_id AND p.id IN (SELECT id FROM locked)
    AND p.inventory_count >= w.quantity
    RETURNING p.id, p.name, p.price, w.quantity
), short AS (
    SELECT product_id, quantity FROM wanted
    WHERE product_id NOT IN (SELECT id FROM reserved) ORDER BY product_id LIMIT 1
), new_order AS (
    INSERT INTO orders (user_id, idempotency_key, total)
    SELECT %(user_id)s, %(key)s, sum(price * quantity) FROM reserved
    HAVING count(*) > 0 AND NOT EXISTS (SELECT FROM short)
    RETURNING id, status, created_at, updated_at
), lines AS (
    INSERT INTO order_lines (order_id, product_id, product_name, unit_price, quantity)
    SELECT o.id, r.id, r.name, r.price, r.quantity FROM new_order o CROSS JOIN reserved r
    RETURNING product_id, product_name, unit_price, quantity
), cleared AS (
    DELETE FROM cart_items WHERE cart_id = %(cart_id)s AND EXISTS (SELECT FROM new_order)
)
SELECT (SELECT id FROM prior),
    (SELECT array_agg(product_id ORDER BY product_id) FROM items),
    (SELECT product_id FROM short), (SELECT quantity FROM short),
    o.id, o.status, o.created_at, o.updated_at,
    (SELECT array_agg(product_id ORDER BY product_id) FROM lines),
    (SELECT array_agg(product_name ORDER BY product_id) FROM lines),
    (SELECT array_agg(unit_price ORDER BY product_id) FROM lines),
    (SELECT array_agg(quantity ORDER BY product_id) FROM lines)
FROM (SELECT) one LEFT JOIN new_order o ON TRUE
"""
# Two checkouts with one key both wrote an order: the loser, run again, finds the winner's. A
# checkout writes orders only for a user with a cart and lines only for products it has just
# reserved, so the order tables' foreign keys are the deleting repositories' business.
CONSTRAINT_ERRORS: ConstraintErrors = {
    "orders_user_id_idempotency_key_key": lambda c: TransientConflict(
        "another checkout with the same idempotency key committed first"
    ),
}
INVENTORY = "SELECT inventory_count FROM products WHERE id = %s"
ORDER_COLUMNS = columns(
    Order, "o.id, o.user_id, o.status, o.created_at, o.updated_at", nested=("lines",)
)
LINE_COLUMNS = columns(OrderLine, "l.product_id, l.product_name, l.unit_price, l.quantity")
# An order with its lines, one row per line (orders always have lines).
BY_ID = (
    "SELECT " + ORDER_COLUMNS + ", " + LINE_COLUMNS + " FROM orders o"
    " JOIN order_lines l ON l.order_id = o.id"
    " WHERE o.id = %(order_id)s AND o.user_id = %(user_id)s ORDER BY l.product_id"
)
# A page of orders, newest first (index orders_user_id_id_idx), with their lines; one more
# order than the page holds says whether there is a next page.
_PAGE = (
    "WITH o AS (SELECT id, user_id, status, created_at, updated_at FROM orders"
    " WHERE user_id = %(user_id)s{after} ORDER BY id DESC LIMIT %(n)s)"
    " SELECT " + ORDER_COLUMNS + ", " + LINE_COLUMNS + " FROM o"
    " JOIN order_lines l ON l.order_id = o.id ORDER BY o.id DESC, l.product_id"
)
FIRST_PAGE = _PAGE.format(after="")
NEXT_PAGE = _PAGE.format(after=" AND id < %(after)s")


def _line(product_id: int, name: str, price: Any, quantity: int) -> OrderLine:
    return trusted(
        OrderLine,
        {"product_id": product_id, "product_name": name, "unit_price": price, "quantity": quantity},
    )


def _order(head: Sequence[Any], lines: tuple[OrderLine, ...]) -> Order:
    order_id, user_id, status, created_at, updated_at = head
    return trusted(
        Order,
        {
            "id": order_id,
            "user_id": user_id,
            "status": OrderStatus(status),
            "lines": lines,
            "created_at": created_at,
            "updated_at": updated_at,
        },
    )


def to_orders(rows: list[tuple[Any, ...]]) -> list[Order]:
    """Orders from rows of order columns then line columns, grouped by consecutive order id."""
    grouped: dict[int, tuple[tuple[Any, ...], list[OrderLine]]] = {}
    for row in rows:
        entry = grouped.setdefault(row[0], (row[:5], []))
        entry[1].append(_line(*row[5:9]))
    return [_order(head, tuple(lines)) for head, lines in grouped.values()]


class PostgresOrderRepository:
    __slots__ = ("_s",)

    def __init__(self, session: Session) -> None:
        self._s = session

    @write
    def place(self, user_id: int, idempotency_key: str) -> Order:
        _, key = every(
            lambda: identifier(user_id, "user_id"),
            lambda: check(idempotency_key, IdempotencyKey, "idempotency_key"),
        )
        # The values error translation may name; the locks taken make those errors unlikely.
        with self._s.writing(user_id=user_id, product_id=None, field="total") as cur:
            locked = cur.execute(LOCK_FOR_USER, {"user_id": user_id}).fetchone()
            values = {"user_id": user_id, "key": key, "cart_id": locked[0] if locked else None}
            if locked is not None:
                cur.execute(LOCK_PRODUCTS, values)
            row = returned(cur.execute(PLACE, values).fetchone())
            prior, item_ids, short_id, short_quantity = row[:4]
            if prior is not None:
                # The key names the checkout that happened: its order, whatever the cart,
                # the prices or the products became since. The cart is left as it is.
                return to_orders(
                    cur.execute(BY_ID, {"order_id": prior, "user_id": user_id}).fetchall()
                )[0]
            if not item_ids:
                raise EmptyCart(user_id)
            if short_id is not None:
                stock = returned(cur.execute(INVENTORY, (short_id,)).fetchone())[0]
                raise InsufficientInventory(short_id, short_quantity, stock)
        order_id, status, created_at, updated_at = row[4:8]
        lines = tuple(_line(*line) for line in zip(*row[8:12], strict=True))
        return _order((order_id, user_id, status, created_at, updated_at), lines)

    def _load(self, user_id: int, order_id: int) -> Order:
        with self._s.reading() as cur:
            rows = cur.execute(BY_ID, {"order_id": order_id, "user_id": user_id}).fetchall()
        if not rows:
            raise OrderNotFound(order_id)
        return to_orders(rows)[0]

    def get(self, user_id: int, order_id: int) -> Order:
        every(lambda: identifier(user_id, "user_id"), lambda: identifier(order_id, "order_id"))
        return self._load(user_id, order_id)

    def list_for_user(
        self, user_id: int, *, limit: int = 20, cursor: str | None = None
    ) -> Page[Order]:
        _, size, after = every(
            lambda: identifier(user_id, "user_id"),
            lambda: check(limit, PageSize, "limit"),
            lambda: None if cursor is None else decode_order_cursor(cursor),
        )
        values: dict[str, Any] = {"user_id": user_id, "n": size + 1}
        if after is not None:
            values["after"] = after
        with self._s.reading() as cur:
            rows = cur.execute(NEXT_PAGE if cursor is not None else FIRST_PAGE, values).fetchall()
        orders = to_orders(rows)
        if len(orders) <= size:
            return Page(items=tuple(orders))
        return Page(
            items=tuple(orders[:size]), next_cursor=encode_order_cursor(orders[size - 1].id)
        )


# The class's conformance to its port: `mypy src` fails here when a port method is missing
# or its signature differs.
_conforms: type[OrderRepository] = PostgresOrderRepository
