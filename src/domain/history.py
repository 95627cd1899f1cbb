"""Order history pages: the page size rule and the keyset cursor (newest first, by order id)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Final

from pydantic import Field, Strict

from domain.errors import InvalidInput
from domain.values import INT8_MAX

ORDER_PAGE_MAX: Final = 100
PageSize = Annotated[int, Strict(), Field(ge=1, le=ORDER_PAGE_MAX)]
_PREFIX: Final = "order:"
_CURSOR_MAX: Final = 64


def encode_order_cursor(order_id: int) -> str:
    """The cursor of the page after the order `order_id` (the last of its page)."""
    return base64.urlsafe_b64encode(f"{_PREFIX}{order_id}".encode()).decode().rstrip("=")


def decode_order_cursor(cursor: str) -> int:
    """The order id a cursor made by `encode_order_cursor` holds; anything else raises
    InvalidInput."""
    if not isinstance(cursor, str) or not 0 < len(cursor) <= _CURSOR_MAX:
        raise _not_a_cursor()
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True).decode()
    except (ValueError, binascii.Error, UnicodeError):
        raise _not_a_cursor() from None
    digits = text.removeprefix(_PREFIX)
    # Only the exact form encode_order_cursor writes: no sign, no leading zero, no spaces.
    if (
        not text.startswith(_PREFIX)
        or not digits.isascii()
        or not digits.isdigit()
        or digits.startswith("0")
        or len(digits) > 19
        or int(digits) > INT8_MAX
        or encode_order_cursor(int(digits)) != cursor
    ):
        raise _not_a_cursor()
    return int(digits)


def _not_a_cursor() -> InvalidInput:
    return InvalidInput("cursor: not a cursor returned by a previous page of orders")
