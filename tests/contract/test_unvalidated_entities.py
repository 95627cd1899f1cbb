# Generated from test_unvalidated_entities_async.py (tools/generate_sync.py): edit that instead.
"""Repositories trust a `NewProduct` to be valid, but pydantic's `model_construct` skips
validation: both adapters still refuse what the schema or the money rule refuses, with
InvalidInput, never rounding money and never leaking a non-domain error."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import InvalidInput, RollbackRequired
from domain.model import NewProduct
from domain.search import ProductQuery
from ports.unit_of_work import UnitOfWorkFactory

VALID = {"name": "Lamp", "price": Decimal("1.00"), "inventory_count": 0, "description": None}
BAD = {
    "a third decimal place": {"price": Decimal("1.005")},
    "a name over 255 characters": {"name": "x" * 300},
    "NUL in the name": {"name": "Lamp\x00"},
    "negative stock": {"inventory_count": -1},
}


@pytest.mark.parametrize("bulk", [False, True], ids=["add", "add_many"])
@pytest.mark.parametrize("change", list(BAD.values()), ids=list(BAD))
def test_an_unvalidated_product_is_invalid_input_and_stores_nothing(
    uow: UnitOfWorkFactory, change: dict[str, object], bulk: bool
) -> None:
    """Products made with model_construct and a bad field (a third decimal place, a 300-character
    name, a NUL, negative stock): InvalidInput on both adapters, nothing stored, money never
    rounded."""
    row = NewProduct.model_construct(**{**VALID, **change})  # type: ignore[arg-type]
    with uow() as work:
        store = work.products.add_many if bulk else work.products.add
        with pytest.raises(InvalidInput):
            store([row] if bulk else row)  # type: ignore[arg-type]
        with pytest.raises(RollbackRequired):
            work.commit()
    with uow(read_only=True) as work:
        assert work.products.search(ProductQuery()).items == ()


def test_a_float_price_in_an_unvalidated_import_is_no_type_error(
    uow: UnitOfWorkFactory,
) -> None:
    """A float price in an unvalidated import: InvalidInput on both adapters, nothing stored."""
    row = NewProduct.model_construct(**{**VALID, "price": 1.5})  # type: ignore[arg-type]
    with uow() as work:
        try:
            work.products.add_many([row])
        except InvalidInput:
            return
        work.commit()
    with uow(read_only=True) as work:
        assert [p.price for p in work.products.search(ProductQuery()).items] == [Decimal("1.50")]


BAD_QUERIES: dict[str, dict[str, object]] = {
    "NUL in the text": {"text": "lamp\x00"},
    "a lone surrogate": {"text": "\ud800"},
    "a text that is no string": {"text": 1},
    "an unknown sort": {"sort": "bogus"},
    "a limit of 0": {"limit": 0},
    "a limit past any page": {"limit": 10**30},
    "a NaN price": {"min_price": Decimal("NaN")},
    "a price of three decimal places": {"max_price": Decimal("1.005")},
    "a range the wrong way round": {"min_price": Decimal(5), "max_price": Decimal(1)},
}


@pytest.mark.parametrize("fields", list(BAD_QUERIES.values()), ids=list(BAD_QUERIES))
def test_an_unvalidated_search_is_invalid_input_and_rolls_nothing_back(
    uow: UnitOfWorkFactory, fields: dict[str, object]
) -> None:
    """A ProductQuery made with model_construct and a bad field: InvalidInput on both adapters
    before anything runs, never a KeyError or a driver's error, and, being a read that raises
    InvalidInput, it rolls back nothing (on PostgreSQL a statement the server refused would
    have aborted the transaction around it)."""
    query = ProductQuery.model_construct(**fields)  # type: ignore[arg-type]
    with uow() as work:
        work.products.add(NewProduct(**VALID))
        with pytest.raises(InvalidInput):
            work.products.search(query)
        assert [p.name for p in work.products.search(ProductQuery()).items] == ["Lamp"]
        work.commit()
    with uow(read_only=True) as work:
        assert [p.name for p in work.products.search(ProductQuery()).items] == ["Lamp"]
