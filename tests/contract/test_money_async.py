"""Amounts too large for NUMERIC(10, 2), however written, are InvalidInput at every entry point
that takes money, on both adapters, and change nothing."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from domain.errors import InvalidInput
from domain.model import ProductSummary
from ports.unit_of_work_async import AsyncUnitOfWorkFactory
from services.catalog_async import AsyncCatalogService
from tests.contract.helpers_async import add_product, snapshot

TOO_LARGE: list[object] = [
    "1e26",
    10**27,
    "9" * 40,
    Decimal("1E+999999"),
    "-1e26",
    "100000000",
    "99999999.995",
    1e300,
    2**64,
]

ENTRY_POINTS: dict[str, Callable[[AsyncCatalogService, object], Any]] = {
    "create_product": lambda c, p: c.create_product("Desk", p),  # type: ignore[arg-type]
    "update_product": lambda c, p: c.update_product(1, 1, price=p),
    "import_products": lambda c, p: c.import_products([{"name": "Desk", "price": p}]),
    "search(min_price)": lambda c, p: c.search(min_price=p),  # type: ignore[arg-type]
    "search(max_price)": lambda c, p: c.search(max_price=p),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
async def test_amounts_that_do_not_fit_are_invalid_input(
    uow: AsyncUnitOfWorkFactory, entry: str
) -> None:
    await add_product(uow, "Lamp", "1.00")
    catalog = AsyncCatalogService(uow)
    before = await snapshot(uow)
    for price in TOO_LARGE:
        with pytest.raises(InvalidInput, match="price"):
            await ENTRY_POINTS[entry](catalog, price)
    assert await snapshot(uow) == before


async def test_the_largest_amount_that_fits_is_accepted(uow: AsyncUnitOfWorkFactory) -> None:
    catalog = AsyncCatalogService(uow)
    product = await catalog.create_product("Desk", "99999999.99")
    assert product.price == Decimal("99999999.99")
    assert (await catalog.search(min_price="99999999.99")).items == (ProductSummary.of(product),)
