"""Product search: the query, a page of results, and the opaque keyset cursor between pages."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from domain.errors import InvalidInput
from domain.model import Entity, Product
from domain.values import INT8_MAX, Price, Text

T = TypeVar("T")

SortKey = str | Decimal | datetime


class ProductSort(StrEnum):
    """Sort orders; each breaks ties by product id so that pages never overlap or skip."""

    NAME = "name"  # by code point, ascending
    PRICE = "price"  # cheapest first
    NEWEST = "newest"  # most recently created first


class ProductQuery(Entity):
    text: Annotated[Text, StringConstraints(max_length=255)] | None = None
    min_price: Price | None = None
    max_price: Price | None = None
    in_stock_only: bool = False
    sort: ProductSort = ProductSort.NAME
    limit: Annotated[int, Field(ge=1, le=500)] = 20
    cursor: str | None = None

    @model_validator(mode="after")
    def _price_range(self) -> ProductQuery:
        if (
            self.min_price is not None
            and self.max_price is not None
            and self.min_price > self.max_price
        ):
            raise ValueError("min_price must not exceed max_price")
        return self

    def after(self) -> tuple[SortKey, int] | None:
        """The position the cursor points after, or None for the first page."""
        return None if self.cursor is None else decode_cursor(self.cursor, self.sort)

    def matches(self, product: Product) -> bool:
        """The filter, as Python; the adapters must agree with it."""
        if self.text is not None and self.text.lower() not in product.name.lower():
            return False
        if self.min_price is not None and product.price < self.min_price:
            return False
        if self.max_price is not None and product.price > self.max_price:
            return False
        return not (self.in_stock_only and product.inventory_count == 0)


class Page(BaseModel, Generic[T]):
    model_config = ConfigDict(frozen=True)

    items: tuple[T, ...]
    next_cursor: str | None = None


def sort_key(product: Product, sort: ProductSort) -> SortKey:
    if sort is ProductSort.NAME:
        return product.name
    if sort is ProductSort.PRICE:
        return product.price
    return product.created_at


def encode_cursor(sort: ProductSort, key: SortKey, product_id: int) -> str:
    raw = key.isoformat() if isinstance(key, datetime) else str(key)
    payload = json.dumps([sort.value, raw, product_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: ProductSort) -> tuple[SortKey, int]:
    """Parse a cursor made by `encode_cursor` for the same sort order."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        kind, raw, product_id = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if kind != sort.value:
            raise InvalidInput(f"cursor: made for sort {kind!r}, not {sort.value!r}")
        if not isinstance(product_id, int) or not 1 <= product_id <= INT8_MAX:
            raise ValueError(product_id)
        if not isinstance(raw, str):
            raise ValueError(raw)
        key: SortKey
        if sort is ProductSort.PRICE:
            key = Decimal(raw)
            if not key.is_finite():
                raise ValueError(raw)
        elif sort is ProductSort.NEWEST:
            key = datetime.fromisoformat(raw)
            if key.tzinfo is None:
                raise ValueError(raw)
        else:
            key = raw
            if "\x00" in key:
                raise ValueError(raw)
        return key, product_id
    except InvalidInput:
        raise
    except (ValueError, TypeError, UnicodeError, binascii.Error, InvalidOperation):
        raise InvalidInput("cursor: not a cursor returned by a previous page") from None
