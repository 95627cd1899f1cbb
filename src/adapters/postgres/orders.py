# Generated from orders_async.py (tools/generate_sync.py): edit that instead.
"""PostgreSQL order repository: a checkout in a fixed number of statements, history by keyset."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from adapters.postgres.carts import LOCK_FOR_USER
from adapters.postgres.errors import A_CHECK, NEVER_DELETED, NEVER_SUPPLIED, ConstraintErrors
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

# The whole checkout in one statement for any number of lines, after the cart's lock is held
# (LOCK_FOR_USER, a statement of its own so that this one's snapshot includes every line
# committed while it waited). The hot product's row is locked in this statement and held only
# until the COMMIT that follows. Its parts:
# - prior: the order the key names already, if any: that order is returned, whatever the
#   cart, the prices or the products became since, and nothing is sold again;
# - cart: the lines and their products' stock, as the snapshot has them;
# - seen_short: the first line (lowest product id) short of stock in the snapshot. Then no
#   row is locked, and the checkout fails at once, at that snapshot, instead of queueing for
#   a hot product's row behind every buyer holding it, and holding it in turn only to find it
#   sold out. The snapshot is of committed rows, taken once the cart is locked: a line short
#   in it was short at that moment, whatever other transactions have under way (a restock
#   not yet committed has not happened);
# - locked: the products, locked in id order, so concurrent checkouts cannot deadlock, and
#   all of them before any line (`taken` waits for the count of `locked`): the order every
#   unit of work takes them in (archiving locks a product, then deletes its lines), so a
#   checkout and an archiving never wait for each other in a circle either. An archived
#   product is not locked; its line, deleted by the archiving, is not taken;
# - taken: the lines, deleted, as they are once locked (a quantity changed meanwhile, on the
#   latest row version: changing a quantity takes no lock on the cart row);
# - reserved: the stock taken, re-checked on the latest row version (no oversell);
# - short: the first line taken but not reserved: its product sold out while this checkout
#   waited for it. Then no order is written, and the adapter raises, which rolls the
#   reservations and the deleted lines back;
# - new_order, lines: the order and its lines as sold.
# Its parts see one snapshot and pass rows on only through RETURNING.
# `locked` yields the count of the rows its subquery locked, not the rows: Citus 13.2 runs a
# CTE that locks rows of a reference table as a subplan whose result it writes in binary and
# then reads as text ("invalid input syntax for type bigint: "PGCOPY"", docs/scale-out.md);
# the lock inside a subquery leaves the CTE's own result an ordinary one.
PLACE = """
WITH prior AS (
    SELECT id FROM orders WHERE user_id = %(user_id)s AND idempotency_key = %(key)s
), cart AS (
    SELECT i.product_id, i.quantity, p.inventory_count, p.deleted_at IS NULL AS live
    FROM cart_items i JOIN products p ON p.id = i.product_id
    WHERE i.user_id = %(user_id)s AND i.cart_id = %(cart_id)s
), seen_short AS (
    SELECT product_id, quantity, inventory_count FROM cart
    WHERE live AND inventory_count < quantity AND NOT EXISTS (SELECT FROM prior)
    ORDER BY product_id LIMIT 1
), locked AS (
    SELECT count(*) AS n FROM (
        SELECT id FROM products WHERE id IN (SELECT product_id FROM cart) AND deleted_at IS NULL
        AND NOT EXISTS (SELECT FROM prior) AND NOT EXISTS (SELECT FROM seen_short)
        ORDER BY id FOR NO KEY UPDATE
    ) rows
), taken AS (
    DELETE FROM cart_items WHERE user_id = %(user_id)s AND cart_id = %(cart_id)s
    AND (SELECT n FROM locked) > 0
    RETURNING product_id, quantity
), reserved AS (
    UPDATE products p SET inventory_count = p.inventory_count - t.quantity, updated_at = now()
    FROM taken t
    WHERE p.id = t.product_id AND p.deleted_at IS NULL AND p.inventory_count >= t.quantity
    RETURNING p.id, p.name, p.price, t.quantity
), short AS (
    SELECT product_id, quantity FROM taken
    WHERE product_id NOT IN (SELECT id FROM reserved) ORDER BY product_id LIMIT 1
), new_order AS (
    INSERT INTO orders (user_id, idempotency_key, total)
    SELECT %(user_id)s, %(key)s, sum(price * quantity) FROM reserved
    HAVING count(*) > 0 AND NOT EXISTS (SELECT FROM short)
    RETURNING id, status, created_at, updated_at
), lines AS (
    INSERT INTO order_lines (user_id, order_id, product_id, product_name, unit_price, quantity)
    SELECT %(user_id)s, o.id, r.id, r.name, r.price, r.quantity
    FROM new_order o CROSS JOIN reserved r
    RETURNING product_id, product_name, unit_price, quantity
)
SELECT (SELECT id FROM prior),
    (SELECT product_id FROM seen_short), (SELECT quantity FROM seen_short),
    (SELECT inventory_count FROM seen_short),
    (SELECT product_id FROM short), (SELECT quantity FROM short),
    o.id, o.status, o.created_at, o.updated_at,
    (SELECT array_agg(product_id ORDER BY product_id) FROM lines),
    (SELECT array_agg(product_name ORDER BY product_id) FROM lines),
    (SELECT array_agg(unit_price ORDER BY product_id) FROM lines),
    (SELECT array_agg(quantity ORDER BY product_id) FROM lines)
FROM (SELECT) one LEFT JOIN new_order o ON TRUE
"""
# The stock of a product that sold out while the checkout waited for it, read after PLACE:
# the row is locked by the checkout, so the latest committed stock is this statement's.
INVENTORY = "SELECT inventory_count FROM products WHERE id = %s"
# Two checkouts with one key both wrote an order: the loser, run again, finds the winner's. A
# checkout writes orders only for a user with a cart and lines only for products it has just
# reserved, so the order tables' foreign keys are the deleting repositories' business.
CONSTRAINT_ERRORS: ConstraintErrors = {
    "orders_user_id_idempotency_key_key": lambda c: TransientConflict(
        "another checkout with the same idempotency key committed first"
    ),
}

# This repository's constraints that need no domain error, each with the reason.
UNMAPPED: Mapping[str, str] = {
    "orders_pkey": NEVER_SUPPLIED,
    "order_lines_pkey": NEVER_SUPPLIED,
    "orders_idempotency_key_length_check": A_CHECK,
    "orders_status_check": A_CHECK,
    "orders_total_non_negative_check": A_CHECK,
    "order_lines_unit_price_non_negative_check": A_CHECK,
    "order_lines_quantity_positive_check": A_CHECK,
    "order_lines_order_id_product_id_key": "a checkout writes the lines of a cart: one a product",
    "order_lines_order_id_fkey": "lines are written with their order, and orders never deleted",
    "orders_user_id_fkey": NEVER_DELETED,
    "order_lines_product_id_fkey": NEVER_DELETED,
}
ORDER_COLUMNS = columns(
    Order, "o.id, o.user_id, o.status, o.created_at, o.updated_at", nested=("lines",)
)
LINE_COLUMNS = columns(OrderLine, "l.product_id, l.product_name, l.unit_price, l.quantity")
# An order with its lines, one row per line (orders always have lines).
BY_ID = (
    "SELECT " + ORDER_COLUMNS + ", " + LINE_COLUMNS + " FROM orders o"
    " JOIN order_lines l ON l.user_id = o.user_id AND l.order_id = o.id"
    " WHERE o.user_id = %(user_id)s AND o.id = %(order_id)s ORDER BY l.product_id"
)
# A page of orders, newest first (the primary key, user_id and id), with their lines; one more
# order than the page holds says whether there is a next page.
_PAGE = (
    "WITH o AS (SELECT id, user_id, status, created_at, updated_at FROM orders"
    " WHERE user_id = %(user_id)s{after} ORDER BY id DESC LIMIT %(n)s)"
    " SELECT " + ORDER_COLUMNS + ", " + LINE_COLUMNS + " FROM o"
    " JOIN order_lines l ON l.user_id = o.user_id AND l.order_id = o.id"
    " WHERE l.user_id = %(user_id)s ORDER BY o.id DESC, l.product_id"
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
            row = returned(cur.execute(PLACE, values).fetchone())
            prior, seen_id, seen_quantity, seen_stock, short_id, short_quantity = row[:6]
            if prior is not None:
                # The key names the checkout that happened: its order, whatever the cart, the
                # prices or the products became since. The cart is left as it is.
                return to_orders(
                    cur.execute(BY_ID, {"order_id": prior, "user_id": user_id}).fetchall()
                )[0]
            if seen_id is not None:
                raise InsufficientInventory(seen_id, seen_quantity, seen_stock)
            if short_id is not None:
                stock = returned(cur.execute(INVENTORY, (short_id,)).fetchone())[0]
                raise InsufficientInventory(short_id, short_quantity, stock)
            if row[6] is None:  # no line, or every product archived while it waited
                raise EmptyCart(user_id)
        order_id, status, created_at, updated_at = row[6:10]
        lines = tuple(_line(*line) for line in zip(*row[10:14], strict=True))
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
