"""Orders: a user's order history."""

from __future__ import annotations

from domain.model import Order
from domain.search import Page
from ports.observation import Observer
from ports.unit_of_work_async import AsyncUnitOfWorkFactory
from services.observed_async import UNOBSERVED, use_case


class AsyncOrderService:
    def __init__(self, uow: AsyncUnitOfWorkFactory, observer: Observer = UNOBSERVED) -> None:
        self._uow = uow
        self._observer = observer

    @use_case
    async def get_order(self, user_id: int, order_id: int) -> Order:
        """One of the user's orders, also after the user or its products were deleted (archived):
        history is never lost. Raises OrderNotFound (also for another user's order) or
        InvalidInput."""
        async with self._uow(read_only=True) as uow:
            return await uow.orders.get(user_id, order_id)

    @use_case
    async def order_history(
        self, user_id: int, *, limit: int = 20, cursor: str | None = None
    ) -> Page[Order]:
        """The user's orders, newest first, a page at a time (pass `next_cursor` back); a
        deleted (archived) user's orders too. Raises InvalidInput."""
        async with self._uow(read_only=True) as uow:
            return await uow.orders.list_for_user(user_id, limit=limit, cursor=cursor)
