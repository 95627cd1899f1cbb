"""Domain services: the shop's use cases, reaching storage only through the unit-of-work port."""

from services.accounts import AccountService
from services.carts import CartService
from services.catalog import CatalogService
from services.orders import OrderService

__all__ = ["AccountService", "CartService", "CatalogService", "OrderService"]
