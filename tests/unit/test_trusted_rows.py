"""Entities built from rows without validation are indistinguishable from validated ones."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

from adapters.postgres.rows import trusted
from domain.model import Cart, CartItem, Product, User
from domain.search import Page

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ITEM = {
    "id": 1,
    "cart_id": 2,
    "product_id": 3,
    "quantity": 4,
    "product_name": "Lamp",
    "unit_price": Decimal("1.50"),
}
CASES: list[tuple[type[BaseModel], dict[str, Any]]] = [
    (
        User,
        {
            "id": 1,
            "username": "alice",
            "email": "alice@example.com",
            "password_hash": "CANARY-hash",
            "created_at": NOW,
            "updated_at": NOW,
        },
    ),
    (
        Product,
        {
            "id": 1,
            "name": "Lamp",
            "description": None,
            "price": Decimal("19.99"),
            "inventory_count": 3,
            "version": 2,
            "created_at": NOW,
            "updated_at": NOW,
        },
    ),
    (CartItem, ITEM),
    (Page, {"items": (CartItem(**ITEM),), "next_cursor": "abc"}),
    (
        Cart,
        {
            "id": 2,
            "user_id": 1,
            "items": (CartItem(**ITEM),),
            "created_at": NOW,
            "updated_at": NOW,
        },
    ),
]


@pytest.mark.parametrize(("model", "values"), CASES)
def test_trusted_equals_validated(model: type[BaseModel], values: dict[str, Any]) -> None:
    fast, checked = trusted(model, dict(values)), model(**values)
    assert fast == checked
    assert repr(fast) == repr(checked)
    assert fast.model_dump() == checked.model_dump()
    assert fast.model_dump_json() == checked.model_dump_json()
    assert fast.model_fields_set == checked.model_fields_set
    with pytest.raises(ValueError, match="frozen"):
        fast.next_cursor = "x"  # type: ignore[attr-defined]
    assert "CANARY" not in repr(fast) + fast.model_dump_json()
