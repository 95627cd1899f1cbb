"""The price check of every row of a bulk import, whatever the caller's decimal context."""

from __future__ import annotations

import decimal
from decimal import Decimal
from typing import Any

import pytest

from domain.errors import InvalidInput
from domain.model import NewProduct
from domain.validation import exact_price

EXACT = ["1E+2", "1.10", "1.100", "0", "-0.00", "99999999.99", "1E+60"]
INEXACT = ["1.001", "0.015", "NaN", "sNaN", "Infinity", "-Infinity", "1E+200"]


def unvalidated(price: Any) -> NewProduct:
    return NewProduct.model_construct(name="Lamp", price=price, inventory_count=1, description=None)


@pytest.mark.parametrize("precision", [28, 4])
@pytest.mark.parametrize("traps", [True, False])
def test_exact_prices_pass_and_others_are_refused_in_any_context(
    precision: int, traps: bool
) -> None:
    with decimal.localcontext() as context:
        context.prec = precision
        context.traps[decimal.InvalidOperation] = traps
        for text in EXACT:
            exact_price(unvalidated(Decimal(text)))
        for text in INEXACT:
            with pytest.raises(InvalidInput, match="at most 2 places"):
                exact_price(unvalidated(Decimal(text)))
        for other in (1.5, "1.50", 2, None):
            with pytest.raises(InvalidInput, match="at most 2 places"):
                exact_price(unvalidated(other))
