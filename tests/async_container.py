"""The container seen from its async side, under the sync side's names: `AsyncContainer` is what
an async test source names `Container`, so that one source (`*_async.py`) tests both sides."""

from __future__ import annotations

from services import AsyncAccountService, AsyncCartService, AsyncCatalogService, AsyncOrderService
from shopdb.container import AsyncUnits, Container, close_async
from shopdb.settings import Settings


class AsyncContainer:
    """A Container whose services are its async ones (`carts()` is `async_carts()`...). Its
    async side opens by itself, at the first unit of work: `init_resources()` starts nothing;
    `await shutdown_resources()` closes it, and the next service opens it anew."""

    def __init__(self, *, settings: Settings) -> None:
        self.container = Container(settings=settings)

    def init_resources(self) -> None:
        pass  # the async pools open on first use, in the event loop that uses them

    async def shutdown_resources(self) -> None:
        await close_async(self.container)

    def unit_of_work(self) -> AsyncUnits:
        units = self.container.async_unit_of_work()
        assert isinstance(units, AsyncUnits)
        return units

    def accounts(self) -> AsyncAccountService:
        return self.container.async_accounts()

    def catalog(self) -> AsyncCatalogService:
        return self.container.async_catalog()

    def carts(self) -> AsyncCartService:
        return self.container.async_carts()

    def orders(self) -> AsyncOrderService:
        return self.container.async_orders()
