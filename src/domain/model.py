"""Entities: users, products, carts with their items, and orders. Immutable."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from domain.values import (
    Description,
    Email,
    Id,
    Inventory,
    PasswordHash,
    Price,
    ProductName,
    Quantity,
    Username,
    Version,
)


class Entity(BaseModel):
    # Inputs never appear in validation errors: a password hash must not leak through one.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    @model_validator(mode="before")
    @classmethod
    def _ignore_computed_fields(cls, data: Any) -> Any:
        """Totals are derived, so a dump (which includes them) validates back unchanged."""
        if isinstance(data, dict) and cls.model_computed_fields:
            return {k: v for k, v in data.items() if k not in cls.model_computed_fields}
        return data


class NewUser(Entity):
    username: Username
    email: Email
    password_hash: PasswordHash = Field(exclude=True, repr=False)


class User(Entity):
    id: Id
    username: Username
    email: Email
    password_hash: PasswordHash = Field(exclude=True, repr=False)
    created_at: datetime
    updated_at: datetime


class NewProduct(Entity):
    name: ProductName
    description: Description | None = None
    price: Price
    inventory_count: Inventory = 0


class Product(Entity):
    id: Id
    name: ProductName
    description: Description | None
    price: Price
    inventory_count: Inventory
    version: Version
    created_at: datetime
    updated_at: datetime


class ProductSummary(Entity):
    """A product as a listing shows it: everything but the description, which may hold
    10,000 characters a product (a page of 500 would carry megabytes nobody sees). The
    full product is one `get` away."""

    id: Id
    name: ProductName
    price: Price
    inventory_count: Inventory
    created_at: datetime

    @classmethod
    def of(cls, product: Product) -> ProductSummary:
        return cls(
            id=product.id,
            name=product.name,
            price=product.price,
            inventory_count=product.inventory_count,
            created_at=product.created_at,
        )


class ProductChanges(Entity):
    """The fields to change; a field left out stays as it is. `description=None` clears it."""

    name: ProductName | None = None
    description: Description | None = None
    price: Price | None = None

    def changed(self) -> dict[str, object]:
        fields = self.model_fields_set
        values = {name: getattr(self, name) for name in ("name", "description", "price")}
        return {
            name: value
            for name, value in values.items()
            if name in fields and (value is not None or name == "description")
        }


class Line(Entity):
    """A quantity of a product at a unit price: a cart item, or a line of an order."""

    product_id: Id
    product_name: ProductName
    unit_price: Price
    quantity: Quantity

    @computed_field  # type: ignore[prop-decorator]
    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


def _total(lines: tuple[Line, ...]) -> Decimal:
    return sum((line.line_total for line in lines), Decimal("0.00"))


class CartItem(Line):
    """A line of a cart, with the product's current name and price."""

    id: Id
    cart_id: Id


class Cart(Entity):
    """The cart aggregate: a user's cart and its items, in the order they were first added."""

    id: Id
    user_id: Id
    items: tuple[CartItem, ...] = ()
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total(self) -> Decimal:
        return _total(self.items)

    @property
    def is_empty(self) -> bool:
        return not self.items

    def item(self, product_id: int) -> CartItem | None:
        return next((item for item in self.items if item.product_id == product_id), None)


class OrderStatus(StrEnum):
    """Only placed so far: payment and shipping are not this layer's business yet."""

    PLACED = "placed"


class OrderLine(Line):
    """A line of an order: the product's name and unit price as sold, never changed later."""


class Order(Entity):
    """What a checkout sold, at the prices it was sold for; its lines ordered by product id."""

    id: Id
    user_id: Id
    status: OrderStatus
    lines: tuple[OrderLine, ...]
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total(self) -> Decimal:
        return _total(self.lines)
