"""What each private API in adapters/postgres/dependency_internals.py saves over its public
fallback, per call: `python -m bench.internals` (no database)."""

from __future__ import annotations

import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from adapters.postgres import dependency_internals as internals
from domain.model import CartItem, Product
from domain.search import Page

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ROW = (1, "Lamp", None, Decimal("19.99"), 3, 2, NOW, NOW)
ITEM = CartItem(
    id=1, cart_id=2, product_id=3, quantity=4, product_name="Lamp", unit_price=Decimal("1.5")
)


def per_call(call: Callable[[], Any], number: int = 200_000) -> float:
    """The fastest of seven runs, in µs a call."""
    return min(timeit.repeat(call, number=number, repeat=7)) / number * 1e6


def main() -> None:
    slots, public = internals.row_mapper(Product), internals.row_mapper(Product, None)
    page = {"items": (ITEM,), "next_cursor": None}
    cases: dict[str, Callable[[], Any]] = {
        "row -> Product, pydantic's slots": lambda: slots(ROW),
        "row -> Product, model_construct": lambda: public(ROW),
        "Page, pydantic's slots": lambda: internals.trusted(Page, dict(page)),
        "Page, model_construct": lambda: internals.trusted(Page, dict(page), None),
    }
    print(f"slots in use: {internals.SLOT_SETTERS is not None}")
    for name, call in cases.items():
        print(f"{name}: {per_call(call):.2f} µs")


if __name__ == "__main__":
    main()
