"""Product search: the query, a page of results, and the opaque keyset cursor between pages."""

from __future__ import annotations

import base64
import json
import math
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Final, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, Strict, StringConstraints, model_validator

from domain.errors import InvalidInput
from domain.folding import fold as fold  # the search's case rule, for the adapters
from domain.model import Entity, Product, ProductSummary
from domain.values import INT8_MAX, PRICE_MAX, Price, Text, money, text_storable

T = TypeVar("T")

SortKey = str | Decimal | datetime

NAME_MAX: Final = 255  # products.name is VARCHAR(255)
# The longest cursor `encode_cursor` makes: a name of NAME_MAX characters outside the BMP,
# each escaped by json.dumps as two \uXXXX escapes (12 characters), and the largest id.
_PAYLOAD_MAX: Final = len('["newest","",]') + 12 * NAME_MAX + len(str(INT8_MAX))
CURSOR_MAX: Final = 4 * math.ceil(_PAYLOAD_MAX / 3)


class ProductSort(StrEnum):
    """Sort orders; each breaks ties by product id so that pages never overlap or skip."""

    NAME = "name"  # by code point, ascending
    PRICE = "price"  # cheapest first
    NEWEST = "newest"  # most recently created first


class ProductQuery(Entity):
    text: Annotated[Text, StringConstraints(max_length=NAME_MAX)] | None = None
    min_price: Price | None = None
    max_price: Price | None = None
    # Strict: True is not a limit, "5" and 5.0 are not 5, "yes" and 1 are not True.
    in_stock_only: Annotated[bool, Strict()] = False
    sort: ProductSort = ProductSort.NAME
    limit: Annotated[int, Strict(), Field(ge=1, le=500)] = 20
    cursor: Annotated[str, Strict()] | None = None

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

    def matches(self, product: Product | ProductSummary) -> bool:
        """The filter, as Python; the adapters must agree with it."""
        if self.text is not None and fold(self.text) not in fold(product.name):
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


def sort_key(product: Product | ProductSummary, sort: ProductSort) -> SortKey:
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
    """Parse a cursor made by `encode_cursor` for the same sort order. Anything else, however
    long, deep or odd, raises InvalidInput."""
    if not isinstance(cursor, str) or len(cursor) > CURSOR_MAX:
        raise _not_a_cursor()
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True)
        payload = json.loads(data)
        if type(payload) is not list or len(payload) != 3:
            raise ValueError("not a cursor")
        kind, raw, product_id = payload
        if type(kind) is not str or type(raw) is not str:
            raise ValueError("not a cursor")
        if kind != sort.value:
            raise InvalidInput(f"cursor: made for another sort order, not {sort.value!r}")
        # type(), not isinstance(): JSON `true` is a bool, which is an int to Python.
        if type(product_id) is not int or not 1 <= product_id <= INT8_MAX:
            raise ValueError("not a cursor")
        return _key(raw, sort), product_id
    except InvalidInput:
        raise
    except (
        ValueError,  # also binascii.Error, UnicodeError and json's JSONDecodeError
        TypeError,
        InvalidOperation,
        OverflowError,
        RecursionError,  # "[[[[...": json recurses once per level
    ):
        raise _not_a_cursor() from None


def _key(raw: str, sort: ProductSort) -> SortKey:
    """The sort key, only in the exact form `encode_cursor` writes it."""
    key: SortKey
    if sort is ProductSort.PRICE:
        key = money(Decimal(raw))
        if not Decimal(0) <= key <= PRICE_MAX:
            raise ValueError("price out of range")
    elif sort is ProductSort.NEWEST:
        key = datetime.fromisoformat(raw)
        if key.tzinfo is None or key.utcoffset() is None:
            raise ValueError("naive datetime")
        if key.isoformat() != raw:
            raise ValueError("not in canonical form")
        return key
    else:
        if len(raw) > NAME_MAX:
            raise ValueError("name too long")
        return text_storable(raw)
    if str(key) != raw:
        raise ValueError("not in canonical form")
    return key


def _not_a_cursor() -> InvalidInput:
    return InvalidInput("cursor: not a cursor returned by a previous page")
