# Generated from orders_async.py (tools/generate_sync.py): edit that instead.
"""Orders: a user's order history."""

from __future__ import annotations

from domain.model import Order
from domain.search import Page
from ports.observation import Observer
from ports.unit_of_work import UnitOfWorkFactory
from services.observed import UNOBSERVED, use_case


class OrderService:
    def __init__(self, uow: UnitOfWorkFactory, observer: Observer = UNOBSERVED) -> None:
        self._uow = uow
        self._observer = observer

    @use_case
    def get_order(self, user_id: int, order_id: int) -> Order:
        """One of the user's orders, also after the user or its products were deleted (archived):
        history is never lost. Raises OrderNotFound (also for another user's order) or
        InvalidInput."""
        with self._uow(read_only=True) as uow:
            return uow.orders.get(user_id, order_id)

    @use_case
    def order_history(
        self, user_id: int, *, limit: int = 20, cursor: str | None = None
    ) -> Page[Order]:
        """The user's orders, newest first, a page at a time (pass `next_cursor` back); a
        deleted (archived) user's orders too. Raises InvalidInput."""
        with self._uow(read_only=True) as uow:
            return uow.orders.list_for_user(user_id, limit=limit, cursor=cursor)
