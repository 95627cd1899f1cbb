"""Repositories trust a `NewProduct` to be valid, but pydantic's `model_construct` skips
validation: both adapters still refuse what the schema or the money rule refuses, with
InvalidInput, never rounding money and never leaking a non-domain error."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import InvalidInput
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
        work.commit()
    with uow(read_only=True) as work:
        assert work.products.search(ProductQuery()).items == ()


def test_a_float_price_in_an_unvalidated_import_is_no_type_error(uow: UnitOfWorkFactory) -> None:
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
