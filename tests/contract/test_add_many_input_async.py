"""`add_many` refuses wrong types with InvalidInput, as every other repository method does,
on both adapters, and stores nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import InvalidInput, RollbackRequired
from domain.model import NewProduct
from domain.search import ProductQuery
from ports.unit_of_work_async import AsyncUnitOfWorkFactory

GOOD = NewProduct(name="Good", price=Decimal("1.00"), inventory_count=1)


@pytest.mark.parametrize(
    "rows",
    [
        pytest.param([GOOD, None], id="None row"),
        pytest.param([GOOD, {"name": "Lamp", "price": "1.00"}], id="mapping row"),
        pytest.param([GOOD, "Lamp"], id="str row"),
        pytest.param("Lamp", id="a str"),
        pytest.param(None, id="None"),
        pytest.param(5, id="an int"),
    ],
)
async def test_add_many_refuses_what_is_not_products_with_invalid_input(
    uow: AsyncUnitOfWorkFactory, rows: object
) -> None:
    """`add_many([product, None])`, a dict row, a str, None or 5: InvalidInput on both
    adapters, nothing stored."""
    async with uow() as work:
        with pytest.raises(InvalidInput):
            await work.products.add_many(rows)  # type: ignore[arg-type]
        with pytest.raises(RollbackRequired, match=r"products\.add_many \(InvalidInput\)"):
            await work.commit()
    async with uow(read_only=True) as work:
        assert (await work.products.search(ProductQuery())).items == ()
