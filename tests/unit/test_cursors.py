"""Cursors: only what `encode_cursor` makes is accepted; anything else is InvalidInput."""

from __future__ import annotations

import base64
import contextlib
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.search import CURSOR_MAX, NAME_MAX, ProductSort, decode_cursor, encode_cursor
from domain.values import INT8_MAX, PRICE_MAX

NOW = datetime(2026, 11, 23, 12, 30, 15, 123456, tzinfo=UTC)


def made(payload: object) -> str:
    """A cursor holding any JSON at all, encoded as ours are."""
    data = json.dumps(payload).encode()
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        (ProductSort.NAME, "Lamp"),
        (ProductSort.NAME, "\U0001f600" * NAME_MAX),
        (ProductSort.NAME, 'İ\u0301 "quoted" \\ back'),
        (ProductSort.PRICE, Decimal("0.00")),
        (ProductSort.PRICE, PRICE_MAX),
        (ProductSort.NEWEST, NOW),
        (ProductSort.NEWEST, NOW.astimezone(timezone(timedelta(hours=-5, minutes=-30)))),
    ],
)
def test_cursors_we_make_round_trip(sort: ProductSort, key: object) -> None:
    for product_id in (1, INT8_MAX):
        cursor = encode_cursor(sort, key, product_id)  # type: ignore[arg-type]
        assert len(cursor) <= CURSOR_MAX
        assert decode_cursor(cursor, sort) == (key, product_id)


@pytest.mark.parametrize(
    ("sort", "payload"),
    [
        (ProductSort.NAME, ["name", "Lamp", True]),  # a bool is not an id
        (ProductSort.NAME, ["name", "Lamp", 1.0]),
        (ProductSort.NAME, ["name", "Lamp", 0]),
        (ProductSort.NAME, ["name", "Lamp", INT8_MAX + 1]),
        (ProductSort.NAME, ["name", "Lamp", "1"]),
        (ProductSort.NAME, ["name", "La\ud800mp", 1]),  # a lone surrogate
        (ProductSort.NAME, ["name", "La\x00mp", 1]),
        (ProductSort.NAME, ["name", "x" * (NAME_MAX + 1), 1]),
        (ProductSort.NAME, ["name", ["Lamp"], 1]),
        (ProductSort.NAME, ["name", "Lamp", 1, 2]),
        (ProductSort.NAME, ["name", "Lamp"]),
        (ProductSort.NAME, {"name": 1, "Lamp": 2, "x": 3}),
        (ProductSort.NAME, [["name"], "Lamp", 1]),
        (ProductSort.NAME, "name"),
        (ProductSort.NAME, None),
        (ProductSort.PRICE, ["price", "NaN", 1]),
        (ProductSort.PRICE, ["price", "Infinity", 1]),
        (ProductSort.PRICE, ["price", "1e26", 1]),
        (ProductSort.PRICE, ["price", "9" * 40, 1]),
        (ProductSort.PRICE, ["price", "-1.00", 1]),
        (ProductSort.PRICE, ["price", "1.001", 1]),
        (ProductSort.PRICE, ["price", "1E+2", 1]),
        (ProductSort.PRICE, ["price", " 1.00", 1]),
        (ProductSort.PRICE, ["price", 1.0, 1]),
        (ProductSort.NEWEST, ["newest", "2026-11-23T12:30:15", 1]),  # naive
        (ProductSort.NEWEST, ["newest", "2026-11-23", 1]),
        (ProductSort.NEWEST, ["newest", "not a date", 1]),
        (ProductSort.NEWEST, ["newest", "2026-11-23T12:30:15Z", 1]),  # not as we write it
    ],
)
def test_cursors_we_did_not_make_are_refused(sort: ProductSort, payload: object) -> None:
    with pytest.raises(InvalidInput, match="cursor"):
        decode_cursor(made(payload), sort)


def test_a_cursor_for_another_sort_order_is_refused() -> None:
    cursor = encode_cursor(ProductSort.NAME, "Lamp", 1)
    with pytest.raises(InvalidInput, match="sort order"):
        decode_cursor(cursor, ProductSort.PRICE)


@pytest.mark.parametrize(
    "cursor",
    [
        "[" * 133_000,  # not even base64
        made(json.loads("[" * 500 + "]" * 500)),
        base64.urlsafe_b64encode(b"[" * 3000).decode(),  # deep nesting within the length bound
        base64.urlsafe_b64encode(b"[" * 100_000).decode(),
        "A" * (CURSOR_MAX + 1),
        "WyJuYW1lIiwiTGFtcCIsMV0!",  # a valid cursor plus a character outside base64
        "WyJuYW1lIiwiTGFt cCIsMV0",
        "Wy\u00e9JuYW1l",
        "\ud800",
        "",
    ],
)
def test_malformed_cursors_are_refused(cursor: str) -> None:
    for sort in ProductSort:
        with pytest.raises(InvalidInput, match="cursor"):
            decode_cursor(cursor, sort)


@settings(max_examples=200)
@given(
    payload=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=20,
    ),
    sort=st.sampled_from(ProductSort),
)
def test_any_json_is_a_cursor_or_invalid_input(payload: object, sort: ProductSort) -> None:
    try:
        cursor = made(payload)
    except (ValueError, UnicodeEncodeError):
        return  # not encodable: JSON itself refuses it
    try:
        key, product_id = decode_cursor(cursor, sort)
    except InvalidInput:
        return
    assert type(product_id) is int
    assert 1 <= product_id <= INT8_MAX
    assert decode_cursor(encode_cursor(sort, key, product_id), sort) == (key, product_id)


@settings(max_examples=200)
@given(st.text(max_size=200) | st.binary(max_size=200).map(lambda b: base64.b64encode(b).decode()))
def test_any_text_is_a_cursor_or_invalid_input(cursor: str) -> None:
    for sort in ProductSort:
        with contextlib.suppress(InvalidInput):
            decode_cursor(cursor, sort)
