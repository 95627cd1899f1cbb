"""The async workloads through SQLAlchemy 2's async ORM (AsyncSession over psycopg's async
driver), a session per operation and the mapping of bench/orm.py, as an application would."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import selectinload

from bench.async_contestants import NoOrder
from bench.orm import CartRow, ItemRow, OrderLineRow, OrderRow, ProductRow
from shopdb.migrations import sqlalchemy_url


class AsyncOrm:
    name = "SQLAlchemy async ORM"

    def __init__(self, url: str, pool_size: int) -> None:
        self.engine = create_async_engine(
            sqlalchemy_url(url), pool_size=pool_size, max_overflow=0, pool_timeout=30
        )
        # Objects stay readable after commit, as shopdb's entities are: no reload per attribute.
        self.session = async_sessionmaker(self.engine, expire_on_commit=False)

    async def open(self) -> None:
        pass  # the engine connects on first use; the warm-up fills its pool

    def _cart(self, user_id: int) -> Any:
        return select(CartRow).where(CartRow.user_id == user_id).order_by(CartRow.id).limit(1)

    async def get_product(self, product_id: int) -> Any:
        async with self.session() as session:
            return await session.get(ProductRow, product_id)

    async def load_cart(self, user_id: int) -> Any:
        async with self.session() as session:
            items = selectinload(CartRow.items).joinedload(ItemRow.product)
            return (await session.scalars(self._cart(user_id).options(items))).first()

    async def add_to_cart(self, user_id: int, product_id: int) -> Any:
        async with self.session() as session:
            cart = (await session.scalars(self._cart(user_id))).one()
            item = (
                await session.scalars(
                    select(ItemRow).where(
                        ItemRow.cart_id == cart.id, ItemRow.product_id == product_id
                    )
                )
            ).first()
            if item is None:
                item = ItemRow(user_id=user_id, cart_id=cart.id, product_id=product_id, quantity=1)
                session.add(item)
            else:
                item.quantity += 1
            await session.commit()
            return item

    async def checkout(self, user_id: int) -> Any:
        """As bench/contestants.py's Orm.checkout: lock the cart, each product in turn, then
        write the order and its lines and empty the cart."""
        async with self.session() as session:
            locked = self._cart(user_id).with_for_update().options(selectinload(CartRow.items))
            cart = (await session.scalars(locked)).one()
            key = uuid.uuid4().hex
            prior = (
                await session.scalars(
                    select(OrderRow).where(
                        OrderRow.user_id == user_id, OrderRow.idempotency_key == key
                    )
                )
            ).first()
            if prior is not None:
                return prior.id
            order = OrderRow(user_id=user_id, idempotency_key=key, total=Decimal(0))
            total = Decimal(0)
            for item in sorted(cart.items, key=lambda i: i.product_id):
                product = await session.get(ProductRow, item.product_id, with_for_update=True)
                if product is None or product.inventory_count < item.quantity:
                    raise NoOrder("out of stock")
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
            if not order.lines:
                raise NoOrder(f"user {user_id}: empty cart")
            order.total = total
            session.add(order)
            await session.execute(delete(ItemRow).where(ItemRow.cart_id == cart.id))
            await session.commit()
            return order.id

    async def close(self) -> None:
        await self.engine.dispose()
