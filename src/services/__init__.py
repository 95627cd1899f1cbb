"""Domain services: the shop's use cases, reaching storage only through the unit-of-work port.
Each has an async twin (`services.<name>_async`), the source the sync one is generated from."""

from services.accounts import AccountService
from services.accounts_async import AsyncAccountService
from services.carts import CartService
from services.carts_async import AsyncCartService
from services.catalog import CatalogService
from services.catalog_async import AsyncCatalogService
from services.orders import OrderService
from services.orders_async import AsyncOrderService

__all__ = [
    "AccountService",
    "AsyncAccountService",
    "AsyncCartService",
    "AsyncCatalogService",
    "AsyncOrderService",
    "CartService",
    "CatalogService",
    "OrderService",
]
