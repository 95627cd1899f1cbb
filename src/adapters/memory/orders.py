# Generated from orders_async.py (tools/generate_sync.py): edit that instead.
"""In-memory order repository: checkouts recorded as orders, and the order history."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from adapters.memory.database import OrderLineRow, OrderRow
from adapters.memory.transaction import write
from domain.errors import EmptyCart, InsufficientInventory, OrderNotFound
from domain.history import PageSize, decode_order_cursor, encode_order_cursor
from domain.model import Order, OrderLine, OrderStatus
from domain.search import Page
from domain.validation import check, every, identifier
from domain.values import IdempotencyKey
from ports.orders import OrderRepository

if TYPE_CHECKING:
    from adapters.memory.database import Tables
    from adapters.memory.transaction import MemoryTransaction

# The schema's rules on this repository's tables, by the names the migrations give them, and
# how the fake enforces each (tests/contract/test_drift.py, test_claims.py).
ENFORCED: Mapping[str, str] = {
    "orders_pkey": "MemoryDatabase.next_id",
    "orders_user_id_fkey": "place takes the user of a cart; users.delete archives",
    "orders_idempotency_key_length_check": "domain.values.IdempotencyKey: 1 to 100 characters",
    "orders_status_check": "domain.model.OrderStatus: placed",
    "orders_total_non_negative_check": "the sum of non-negative prices times quantities",
    "orders_user_id_idempotency_key_key": "place returns the order of a key it has seen",
    "order_lines_pkey": "MemoryDatabase.next_id",
    "order_lines_order_id_fkey": "place writes lines of the order it writes",
    "order_lines_product_id_fkey": "products.delete archives, never removes",
    "order_lines_unit_price_non_negative_check": "copied from a Price",
    "order_lines_quantity_positive_check": "copied from a cart line's Quantity",
    "order_lines_order_id_product_id_key": "a cart holds one line per product",
}


def _order(tables: Tables, row: OrderRow) -> Order:
    lines = sorted(
        (line for line in tables.order_lines.values() if line.order_id == row.id),
        key=lambda line: line.product_id,
    )
    return Order(
        id=row.id,
        user_id=row.user_id,
        status=OrderStatus(row.status),
        lines=tuple(
            OrderLine(
                product_id=line.product_id,
                product_name=line.product_name,
                unit_price=line.unit_price,
                quantity=line.quantity,
            )
            for line in lines
        ),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class MemoryOrderRepository:
    def __init__(self, transaction: MemoryTransaction) -> None:
        self._tx = transaction

    @write
    def place(self, user_id: int, idempotency_key: str) -> Order:
        _, key = every(
            lambda: identifier(user_id, "user_id"),
            lambda: check(idempotency_key, IdempotencyKey, "idempotency_key"),
        )
        # Writers are serialized: becoming one locks the cart and every product at once.
        with self._tx.writing() as tables:
            cart = min(
                (c for c in tables.carts.values() if c.user_id == user_id),
                key=lambda c: c.id,
                default=None,
            )
            items = sorted(
                (i for i in tables.items.values() if cart is not None and i.cart_id == cart.id),
                key=lambda i: i.product_id,
            )
            prior = next(
                (o for o in tables.orders.values() if o.user_id == user_id and o.key == key),
                None,
            )
            if prior is not None:
                # The key names the checkout that happened: its order, whatever the cart, the
                # prices or the products became since. The cart is left as it is.
                return _order(tables, prior)
            if cart is None or not items:
                raise EmptyCart(user_id)
            for item in items:
                stock = tables.products[item.product_id].inventory_count
                if stock < item.quantity:
                    raise InsufficientInventory(item.product_id, item.quantity, stock)
            products = [tables.products[item.product_id] for item in items]
            now = self._tx.now()
            for product, item in zip(products, items, strict=True):
                tables.products[product.id] = product.model_copy(
                    update={
                        "inventory_count": product.inventory_count - item.quantity,
                        "updated_at": now,
                    }
                )
            total = sum(
                (p.price * i.quantity for p, i in zip(products, items, strict=True)),
                Decimal("0.00"),
            )
            row = OrderRow(
                self._tx.database.next_id("orders"), user_id, key, "placed", total, now, now
            )
            tables.orders[row.id] = row
            for product, item in zip(products, items, strict=True):
                line_id = self._tx.database.next_id("order_lines")
                tables.order_lines[line_id] = OrderLineRow(
                    line_id, row.id, product.id, product.name, product.price, item.quantity
                )
                del tables.items[item.id]
            return _order(tables, row)

    def get(self, user_id: int, order_id: int) -> Order:
        every(lambda: identifier(user_id, "user_id"), lambda: identifier(order_id, "order_id"))
        tables = self._tx.read()
        row = tables.orders.get(order_id)
        if row is None or row.user_id != user_id:
            raise OrderNotFound(order_id)
        return _order(tables, row)

    def list_for_user(
        self, user_id: int, *, limit: int = 20, cursor: str | None = None
    ) -> Page[Order]:
        _, size, after = every(
            lambda: identifier(user_id, "user_id"),
            lambda: check(limit, PageSize, "limit"),
            lambda: None if cursor is None else decode_order_cursor(cursor),
        )
        tables = self._tx.read()
        rows = sorted(
            (
                o
                for o in tables.orders.values()
                if o.user_id == user_id and (after is None or o.id < after)
            ),
            key=lambda o: o.id,
            reverse=True,
        )[: size + 1]
        orders = [_order(tables, row) for row in rows[:size]]
        if len(rows) <= size:
            return Page(items=tuple(orders))
        return Page(items=tuple(orders), next_cursor=encode_order_cursor(orders[-1].id))


# The class's conformance to its port: `mypy src` fails here when a port method is missing
# or its signature differs.
_conforms: type[OrderRepository] = MemoryOrderRepository
