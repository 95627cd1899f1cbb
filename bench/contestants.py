"""The same workloads through shopdb, raw psycopg (pooled and on one connection) and the ORM."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool
from sqlalchemy import create_engine, delete, func, insert, select, tuple_
from sqlalchemy.orm import Session, selectinload

from adapters.hashing import Argon2PasswordHasher
from adapters.postgres import PoolConfig, PostgresUnitOfWorkFactory, create_pool
from bench.orm import (
    CartRow,
    EmailRow,
    ItemRow,
    OrderLineRow,
    OrderRow,
    ProductRow,
    UsernameRow,
    UserRow,
)
from domain.model import NewProduct, NewUser
from domain.search import ProductQuery, ProductSort, encode_cursor
from services import CartService
from shopdb.migrations import sqlalchemy_url

PRODUCT = (
    "SELECT id, name, description, price, inventory_count, version, created_at, updated_at"
    " FROM products"
)
# Every contestant reads live products and users only (archived ones have deleted_at set),
# as the partial indexes of migrations 0007 and 0008 expect.
LIVE = " deleted_at IS NULL"
GET_PRODUCT = PRODUCT + " WHERE id = %s AND" + LIVE
# A user is found by its email's key in the lookup table, and written with its keys
# (migration 0011): the schema's only unique rules on usernames and emails.
GET_USER = (
    "SELECT id, username, email, password_hash, created_at, updated_at FROM users"
    " WHERE id = (SELECT user_id FROM emails WHERE email_lower = lower(%s)) AND" + LIVE
)
INSERT_USER = (
    "WITH u AS (INSERT INTO users (username, email, password_hash) VALUES (%s, %s, %s)"
    " RETURNING id, username, email, password_hash, created_at, updated_at),"
    " n AS (INSERT INTO usernames (username_lower, user_id) SELECT lower(username), id FROM u"
    " RETURNING user_id),"
    " e AS (INSERT INTO emails (email_lower, user_id) SELECT lower(email), id FROM u, n)"
    " SELECT id, username, email, password_hash, created_at, updated_at FROM u"
)
LOAD_CART = (
    "SELECT c.id, c.user_id, c.created_at, c.updated_at, i.id, i.product_id, i.quantity,"
    " p.name, p.price FROM carts c"
    " LEFT JOIN (cart_items i JOIN products p ON p.id = i.product_id)"
    " ON i.user_id = c.user_id AND i.cart_id = c.id"
    " WHERE c.id = %s ORDER BY i.id"
)
# The same rule as shopdb's: a line never exceeds the stock, checked as the line is written
# (since migration 0011 by the schema's trigger, whatever the statement).
ADD_ITEM = (
    "INSERT INTO cart_items (user_id, cart_id, product_id, quantity)"
    " SELECT user_id, id, %(product)s, 1 FROM carts WHERE id = %(cart)s"
    " ON CONFLICT (cart_id, product_id, user_id) DO UPDATE SET quantity = cart_items.quantity + 1"
    " RETURNING id, quantity"
)
KEYSET = (
    PRODUCT + " WHERE" + LIVE + ' AND (name COLLATE "C", id) > (%s, %s)'
    ' ORDER BY name COLLATE "C", id LIMIT 21'
)
FIRST_PAGE = PRODUCT + " WHERE" + LIVE + ' ORDER BY name COLLATE "C", id LIMIT 21'
OFFSET_PAGE = PRODUCT + " WHERE" + LIVE + ' ORDER BY name COLLATE "C", id LIMIT 20 OFFSET %s'
COPY = "COPY products (name, description, price, inventory_count) FROM STDIN (FORMAT BINARY)"
LOCK_CART = "SELECT id FROM carts WHERE user_id = %s ORDER BY id LIMIT 1 FOR UPDATE"
LOCK_ITEMS = (
    "SELECT product_id, quantity FROM cart_items WHERE cart_id = %s ORDER BY product_id FOR UPDATE"
)
RESERVE = (
    "UPDATE products SET inventory_count = inventory_count - %s, updated_at = now()"
    " WHERE id = %s AND inventory_count >= %s RETURNING name, price"
)
PRIOR_ORDER = "SELECT id FROM orders WHERE user_id = %s AND idempotency_key = %s"
INSERT_ORDER = (
    "INSERT INTO orders (user_id, idempotency_key, total) VALUES (%s, %s, %s) RETURNING id"
)
INSERT_LINE = (
    "INSERT INTO order_lines (user_id, order_id, product_id, product_name, unit_price, quantity)"
    " VALUES (%s, %s, %s, %s, %s, %s)"
)
# A page of 20 orders with their lines, newest first: the query a hand-written version would use.
ORDER_PAGE = (
    "WITH o AS (SELECT id, user_id, status, created_at FROM orders WHERE user_id = %s"
    " ORDER BY id DESC LIMIT 21)"
    " SELECT o.id, o.user_id, o.status, o.created_at, l.product_id, l.product_name,"
    " l.unit_price, l.quantity FROM o"
    " JOIN order_lines l ON l.user_id = o.user_id AND l.order_id = o.id"
    " ORDER BY o.id DESC, l.product_id"
)
CLEAR = "DELETE FROM cart_items WHERE cart_id = %s"
# The cart's lines and their products, the products locked in id order before any is changed.
LOCK_PRODUCTS = (
    "SELECT i.product_id, i.quantity, p.inventory_count, p.name, p.price FROM cart_items i"
    " JOIN products p ON p.id = i.product_id WHERE i.cart_id = %s ORDER BY p.id FOR UPDATE OF p"
)
TAKE = (
    "UPDATE products SET inventory_count = inventory_count - %s, updated_at = now() WHERE id = %s"
)

Page1000 = tuple[str, int]  # (name, id) of the last row of page 999


class SoldOut(RuntimeError):
    """A hand-written checkout found a line short of stock."""


class Shopdb:
    name = "shopdb"

    def __init__(self, url: str, pool_size: int) -> None:
        self.pool = create_pool(
            PoolConfig(conninfo=url, min_size=pool_size, max_size=pool_size, timeout=30)
        )
        self.pool.wait()
        self.uow = PostgresUnitOfWorkFactory(self.pool)
        self.carts = CartService(self.uow)
        self.hash = Argon2PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("x")

    def get_product(self, product_id: int) -> Any:
        with self.uow(read_only=True) as work:
            return work.products.get(product_id)

    def get_user(self, email: str) -> Any:
        with self.uow(read_only=True) as work:
            return work.users.get_by_email(email)

    def new_user(self, n: int) -> Any:
        return NewUser(username=f"bench{n}", email=f"bench{n}@example.com", password_hash=self.hash)

    def insert_user(self, user: Any) -> Any:
        with self.uow(autocommit=True) as work:  # one INSERT: committed as it returns
            return work.users.add(user)

    def load_cart(self, cart_id: int) -> Any:
        with self.uow(read_only=True) as work:
            return work.carts.get(cart_id)

    def add_to_cart(self, cart_id: int, product_id: int) -> Any:
        with self.uow(autocommit=True) as work:  # one upsert: committed as it returns
            return work.carts.add_item(cart_id, product_id, 1)

    def checkout(self, user_id: int) -> Any:
        return self.carts.checkout(user_id, uuid.uuid4().hex)

    def order_history(self, user_id: int) -> Any:
        with self.uow(read_only=True) as work:
            return work.orders.list_for_user(user_id, limit=20)

    def pager(self, after: Page1000 | None) -> Callable[[], Any]:
        # A caller holds the opaque cursor of the page before; it builds the query per request.
        cursor = None if after is None else encode_cursor(ProductSort.NAME, *after)

        def page() -> Any:
            with self.uow(read_only=True) as work:
                return work.products.search(ProductQuery(limit=20, cursor=cursor))

        return page

    def offset_page(self, offset: int) -> Any:
        raise NotImplementedError  # shopdb paginates by keyset only

    def bulk_rows(self, rows: Sequence[tuple[Any, ...]]) -> Any:
        return [
            NewProduct(name=r[0], description=r[1], price=r[2], inventory_count=r[3]) for r in rows
        ]

    def bulk_import(self, products: Any) -> None:
        with self.uow() as work:  # rolled back on exit: every contestant starts from the same table
            work.products.add_many(products)

    def close(self) -> None:
        self.pool.close()


class RawPool:
    """Hand-written SQL through a psycopg_pool pool with autocommit: the floor."""

    name = "psycopg + pool"

    def __init__(self, url: str, pool_size: int) -> None:
        self.pool: ConnectionPool[Any] = ConnectionPool(
            url,
            kwargs={"autocommit": True},
            min_size=pool_size,
            max_size=pool_size,
            open=True,
        )
        self.pool.wait()

    def _run(self, query: str, params: Any) -> Any:
        with self.pool.connection() as conn:
            return conn.execute(query, params).fetchall()

    def get_product(self, product_id: int) -> Any:
        return self._run(GET_PRODUCT, (product_id,))

    def get_user(self, email: str) -> Any:
        return self._run(GET_USER, (email,))

    def new_user(self, n: int) -> Any:
        return (f"bench{n}", f"bench{n}@example.com", "hash")

    def insert_user(self, user: Any) -> Any:
        return self._run(INSERT_USER, user)

    def load_cart(self, cart_id: int) -> Any:
        return self._run(LOAD_CART, (cart_id,))

    def add_to_cart(self, cart_id: int, product_id: int) -> Any:
        return self._run(ADD_ITEM, {"cart": cart_id, "product": product_id})

    def checkout(self, user_id: int) -> Any:
        with self.pool.connection() as conn:
            return _raw_checkout(conn, user_id)

    def order_history(self, user_id: int) -> Any:
        return self._run(ORDER_PAGE, (user_id,))

    def pager(self, after: Page1000 | None) -> Callable[[], Any]:
        if after is None:
            return lambda: self._run(FIRST_PAGE, None)
        return lambda: self._run(KEYSET, after)

    def offset_page(self, offset: int) -> Any:
        return self._run(OFFSET_PAGE, (offset,))

    def bulk_rows(self, rows: Sequence[tuple[Any, ...]]) -> Any:
        return rows

    def bulk_import(self, rows: Any) -> None:
        with self.pool.connection() as conn:
            _raw_copy(conn, rows)

    def close(self) -> None:
        self.pool.close()


class RawConnection(RawPool):
    """The same SQL on one connection held for the whole run (no pool at all)."""

    name = "psycopg, 1 conn"

    def __init__(self, url: str, pool_size: int) -> None:
        self.conn = psycopg.connect(url, autocommit=True)

    def _run(self, query: str, params: Any) -> Any:
        return self.conn.execute(query, params).fetchall()

    def checkout(self, user_id: int) -> Any:
        return _raw_checkout(self.conn, user_id)

    def bulk_import(self, rows: Any) -> None:
        _raw_copy(self.conn, rows)

    def copy_bare(self, rows: Any) -> None:
        """The same COPY into a TEMP table with no index, no constraint and no WAL: what the
        client's own part of a bulk import (encoding and sending the rows) costs."""
        self.conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS bare_products"
            " (LIKE products INCLUDING DEFAULTS INCLUDING IDENTITY)"
        )
        _raw_copy(self.conn, rows, COPY.replace("products", "bare_products", 1))

    def close(self) -> None:
        self.conn.close()


def _raw_checkout(conn: psycopg.Connection[Any], user_id: int) -> Any:
    """Written the usual way: lock, look for the key, a reservation per line, the order, its
    lines in one executemany, the clear."""
    key = uuid.uuid4().hex
    with conn.transaction():
        cart = conn.execute(LOCK_CART, (user_id,)).fetchone()
        if cart is None:
            raise RuntimeError("no cart")
        prior = conn.execute(PRIOR_ORDER, (user_id, key)).fetchone()
        if prior is not None:
            return prior[0]
        items = conn.execute(LOCK_ITEMS, (cart[0],)).fetchall()
        total = Decimal(0)
        lines = []
        for product_id, quantity in items:
            sold = conn.execute(RESERVE, (quantity, product_id, quantity)).fetchone()
            if sold is None:
                raise SoldOut("out of stock")
            total += sold[1] * quantity
            lines.append((product_id, sold[0], sold[1], quantity))
        order = conn.execute(INSERT_ORDER, (user_id, key, total)).fetchone()
        if order is None:
            raise RuntimeError("no order")
        with conn.cursor() as cur:
            cur.executemany(INSERT_LINE, [(user_id, order[0], *line) for line in lines])
        conn.execute(CLEAR, (cart[0],))
    return order[0]


class RawForUpdate(RawPool):
    """The same pool; a checkout that locks the cart's products with SELECT ... FOR UPDATE."""

    name = "psycopg FOR UPDATE"

    def checkout(self, user_id: int) -> Any:
        with self.pool.connection() as conn:
            return _raw_checkout_locking(conn, user_id)


def _raw_checkout_locking(conn: psycopg.Connection[Any], user_id: int) -> Any:
    """The other usual way: lock the cart, look for the key, lock the lines' products, check
    the stock in the client, then an UPDATE per line, the order, its lines, the clear."""
    key = uuid.uuid4().hex
    with conn.transaction():
        cart = conn.execute(LOCK_CART, (user_id,)).fetchone()
        if cart is None:
            raise RuntimeError("no cart")
        prior = conn.execute(PRIOR_ORDER, (user_id, key)).fetchone()
        if prior is not None:
            return prior[0]
        items = conn.execute(LOCK_PRODUCTS, (cart[0],)).fetchall()
        if any(stock < quantity for _, quantity, stock, _, _ in items):
            raise SoldOut("out of stock")
        total = Decimal(0)
        for product_id, quantity, _, _, price in items:
            conn.execute(TAKE, (quantity, product_id))
            total += price * quantity
        order = conn.execute(INSERT_ORDER, (user_id, key, total)).fetchone()
        if order is None:
            raise RuntimeError("no order")
        with conn.cursor() as cur:
            lines = [(user_id, order[0], p, name, price, q) for p, q, _, name, price in items]
            cur.executemany(INSERT_LINE, lines)
        conn.execute(CLEAR, (cart[0],))
    return order[0]


def _raw_copy(conn: psycopg.Connection[Any], rows: Any, statement: str = COPY) -> None:
    with conn.transaction(force_rollback=True), conn.cursor() as cur, cur.copy(statement) as copy:
        copy.set_types(["varchar", "text", "numeric", "int4"])
        for row in rows:
            copy.write_row(row)


class Orm:
    """SQLAlchemy 2 ORM, a session per operation, as an application would use it."""

    name = "SQLAlchemy ORM"

    def __init__(self, url: str, pool_size: int) -> None:
        self.engine = create_engine(sqlalchemy_url(url), pool_size=pool_size, max_overflow=0)

    def get_product(self, product_id: int) -> Any:
        with Session(self.engine) as session:
            return session.get(ProductRow, product_id)

    def get_user(self, email: str) -> Any:
        with Session(self.engine) as session:
            key = select(EmailRow.user_id).where(EmailRow.email_lower == func.lower(email))
            query = select(UserRow).where(
                UserRow.id == key.scalar_subquery(), UserRow.deleted_at.is_(None)
            )
            return session.scalars(query).first()

    def new_user(self, n: int) -> Any:
        return {"username": f"bench{n}", "email": f"bench{n}@example.com", "password_hash": "hash"}

    def insert_user(self, user: Any) -> Any:
        with Session(self.engine) as session:
            row = UserRow(**user)
            session.add(row)
            session.flush()  # the id, for the keys in the lookup tables (migration 0011)
            session.add(UsernameRow(username_lower=row.username.lower(), user_id=row.id))
            session.add(EmailRow(email_lower=row.email.lower(), user_id=row.id))
            session.commit()
            return row.id

    def load_cart(self, cart_id: int) -> Any:
        with Session(self.engine) as session:
            options = selectinload(CartRow.items).joinedload(ItemRow.product)
            return session.get(CartRow, cart_id, options=[options])

    def add_to_cart(self, cart_id: int, product_id: int) -> Any:
        with Session(self.engine) as session:
            item = session.scalars(
                select(ItemRow).where(ItemRow.cart_id == cart_id, ItemRow.product_id == product_id)
            ).first()
            if item is None:
                owner = session.scalars(select(CartRow.user_id).where(CartRow.id == cart_id)).one()
                session.add(
                    ItemRow(user_id=owner, cart_id=cart_id, product_id=product_id, quantity=1)
                )
            else:
                item.quantity += 1
            session.commit()

    def checkout(self, user_id: int) -> Any:
        with Session(self.engine) as session:
            cart = session.scalars(
                select(CartRow)
                .where(CartRow.user_id == user_id)
                .order_by(CartRow.id)
                .limit(1)
                .with_for_update()
            ).one()
            key = uuid.uuid4().hex
            prior = session.scalars(
                select(OrderRow).where(OrderRow.user_id == user_id, OrderRow.idempotency_key == key)
            ).first()
            if prior is not None:
                return prior.id
            total = Decimal(0)
            order = OrderRow(user_id=user_id, idempotency_key=key, total=Decimal(0))
            for item in sorted(cart.items, key=lambda i: i.product_id):
                product = session.get(ProductRow, item.product_id, with_for_update=True)
                if product is None or product.inventory_count < item.quantity:
                    raise RuntimeError("out of stock")
                product.inventory_count -= item.quantity
                total += product.price * item.quantity
                order.lines.append(
                    OrderLineRow(
                        user_id=user_id,
                        product_id=product.id,
                        product_name=product.name,
                        unit_price=product.price,
                        quantity=item.quantity,
                    )
                )
            order.total = total
            session.add(order)
            session.execute(delete(ItemRow).where(ItemRow.cart_id == cart.id))
            session.commit()
            return order.id

    def order_history(self, user_id: int) -> Any:
        with Session(self.engine) as session:
            query = (
                select(OrderRow)
                .where(OrderRow.user_id == user_id)
                .order_by(OrderRow.id.desc())
                .limit(21)
                .options(selectinload(OrderRow.lines))
            )
            return session.scalars(query).all()

    def _order(self) -> Any:
        return (ProductRow.name.collate("C"), ProductRow.id)

    def pager(self, after: Page1000 | None) -> Callable[[], Any]:
        def page() -> Any:
            with Session(self.engine) as session:
                query = select(ProductRow).where(ProductRow.deleted_at.is_(None))
                query = query.order_by(*self._order()).limit(21)
                if after is not None:
                    query = query.where(tuple_(*self._order()) > tuple_(*after))
                return session.scalars(query).all()

        return page

    def offset_page(self, offset: int) -> Any:
        with Session(self.engine) as session:
            query = select(ProductRow).where(ProductRow.deleted_at.is_(None))
            query = query.order_by(*self._order()).limit(20).offset(offset)
            return session.scalars(query).all()

    def bulk_rows(self, rows: Sequence[tuple[Any, ...]]) -> Any:
        keys = ("name", "description", "price", "inventory_count")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def bulk_import(self, rows: Any) -> None:
        with Session(self.engine) as session:
            session.execute(insert(ProductRow), rows)
            session.rollback()

    def close(self) -> None:
        self.engine.dispose()
