"""Entities built from rows without validation are indistinguishable from validated ones."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pydantic
import pytest
from pydantic import BaseModel

from adapters.postgres import (
    carts,
    dependency_internals,
    orders,
    product_search,
    products,
    users,
)
from adapters.postgres.rows import column_names, columns, trusted
from domain.model import Cart, CartItem, Order, OrderLine, Product, ProductSummary, User
from domain.search import Page

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
ITEM = {
    "id": 1,
    "cart_id": 2,
    "product_id": 3,
    "quantity": 4,
    "product_name": "Lamp",
    "unit_price": Decimal("1.50"),
}
USER = {
    "id": 1,
    "username": "alice",
    "email": "alice@example.com",
    "password_hash": "CANARY-hash",
    "created_at": NOW,
    "updated_at": LATER,
}
PRODUCT = {
    "id": 1,
    "name": "Lamp",
    "description": None,
    "price": Decimal("19.99"),
    "inventory_count": 3,
    "version": 2,
    "created_at": NOW,
    "updated_at": LATER,
}


def row(select_list: str, values: dict[str, Any]) -> tuple[Any, ...]:
    """The row a SELECT list returns: each value in the position its column has there."""
    return tuple(values[name] for name in column_names(select_list))


def cart_rows(items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The rows of the cart load query: the cart's columns, then one item's (or NULLs)."""
    head = (2, 1, NOW, LATER)
    item_rows = [row(carts.ITEM, item) for item in items] or [(None,) * 6]
    return [head + item for item in item_rows]


def assert_same(fast: BaseModel, checked: BaseModel) -> None:
    assert fast == checked
    assert list(vars(fast)) == list(vars(checked))  # field order: repr and dumps follow it
    assert repr(fast) == repr(checked)
    assert fast.model_dump() == checked.model_dump()
    assert fast.model_dump_json() == checked.model_dump_json()
    assert fast.model_fields_set == checked.model_fields_set
    first = next(iter(type(fast).model_fields))  # copying with an update edits the fields set
    assert fast.model_copy(update={first: getattr(fast, first)}) == checked
    with pytest.raises(ValueError, match="frozen"):
        fast.next_cursor = "x"  # type: ignore[attr-defined]
    assert "CANARY" not in repr(fast) + fast.model_dump_json()


def test_users_map_from_their_select_list() -> None:
    assert_same(users.to_user(row(users.COLUMNS, USER)), User(**USER))


def test_products_map_from_their_select_list() -> None:
    assert_same(products.to_product(row(products.COLUMNS, PRODUCT)), Product(**PRODUCT))


def test_cart_items_map_from_their_select_list() -> None:
    assert_same(carts.to_item(row(carts.ITEM, ITEM)), CartItem(**ITEM))


@pytest.mark.parametrize("count", [0, 1, 3])
def test_carts_map_from_the_load_query_rows(count: int) -> None:
    items = [{**ITEM, "id": n, "product_id": 10 + n, "quantity": n} for n in range(1, count + 1)]
    expected = Cart(
        id=2,
        user_id=1,
        items=tuple(CartItem(**item) for item in items),
        created_at=NOW,
        updated_at=LATER,
    )
    mapped = carts.to_cart(cart_rows(items))
    assert mapped is not None
    assert_same(mapped, expected)
    assert mapped.total == expected.total
    assert carts.to_cart([]) is None


def test_pages_built_in_field_order_equal_validated_ones() -> None:
    values = {"items": (CartItem(**ITEM),), "next_cursor": "abc"}
    assert_same(trusted(Page, dict(values)), Page(**values))


@pytest.mark.parametrize(
    ("model", "select_list"),
    [
        (User, "id, username, email, created_at, password_hash, updated_at"),  # out of order
        (User, "id, username, email, password_hash, created_at"),  # one missing
        (CartItem, "i.product_id, p.name, p.price AS unit_price, i.quantity, i.id, i.cart_id"),
    ],
)
def test_a_select_list_that_is_not_the_fields_in_order_is_refused(
    model: type[BaseModel], select_list: str
) -> None:
    with pytest.raises(ValueError, match="not the fields"):
        columns(model, select_list)


class UserWithNickname(User):
    nickname: str = ""  # a field added: every select list of users is short of it


@pytest.mark.parametrize(
    ("model", "select_list", "nested"),
    [
        (UserWithNickname, users.COLUMNS, ()),
        (Cart, carts.CART_COLUMNS, ()),  # items not declared as nested
        (Cart, "id, user_id, updated_at, created_at", ("items",)),
        (Order, "o.id, o.status, o.user_id, o.created_at, o.updated_at", ("lines",)),
        (OrderLine, "l.product_id, l.unit_price, l.product_name, l.quantity", ()),
        (Order, "o.id, o.user_id, o.status, o.created_at, o.updated_at", ("line",)),  # no field
    ],
)
def test_a_select_list_short_of_a_field_or_out_of_order_is_refused(
    model: type[BaseModel], select_list: str, nested: tuple[str, ...]
) -> None:
    with pytest.raises(ValueError, match="not the fields"):
        columns(model, select_list, nested=nested)


@pytest.mark.parametrize(
    ("model", "select_list", "nested"),
    [
        (User, users.COLUMNS, ()),
        (Product, products.COLUMNS, ()),
        (ProductSummary, product_search.SUMMARY_COLUMNS, ()),
        (CartItem, carts.ITEM, ()),
        (Cart, carts.CART_COLUMNS, ("items",)),
        (Cart, carts.CART_HEAD, ("items",)),
        (Order, orders.ORDER_COLUMNS, ("lines",)),
        (OrderLine, orders.LINE_COLUMNS, ()),
    ],
)
def test_every_select_list_rows_are_read_from_by_position_is_the_fields_in_order(
    model: type[BaseModel], select_list: str, nested: tuple[str, ...]
) -> None:
    assert column_names(select_list) == [f for f in model.model_fields if f not in nested]


SLOTS = ("__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")
# Both ways of building an entity without validation: pydantic's slots, and model_construct
# (dependency_internals chooses the latter where the slots are not as verified).
PATHS = pytest.mark.parametrize(
    "setters", [dependency_internals.SLOT_SETTERS, None], ids=["slots", "model_construct"]
)


@PATHS
@pytest.mark.parametrize(
    ("model", "select_list", "values"),
    [
        (User, users.COLUMNS, USER),
        (Product, products.COLUMNS, PRODUCT),
        (CartItem, carts.ITEM, ITEM),
    ],
)
def test_both_ways_map_rows_to_entities_equal_to_validated_ones(
    setters: dependency_internals.Setters | None,
    model: type[BaseModel],
    select_list: str,
    values: dict[str, Any],
) -> None:
    mapped = dependency_internals.row_mapper(model, setters)(row(select_list, values))
    assert_same(mapped, model(**values))


@PATHS
def test_both_ways_build_pages_equal_to_validated_ones(
    setters: dependency_internals.Setters | None,
) -> None:
    values = {"items": (CartItem(**ITEM),), "next_cursor": "abc"}
    assert_same(dependency_internals.trusted(Page, dict(values), setters), Page(**values))


@pytest.mark.parametrize(
    ("model", "values"),
    [(User, USER), (Product, PRODUCT), (CartItem, ITEM)],
)
def test_trusted_entities_hold_what_model_construct_sets(
    model: type[BaseModel], values: dict[str, Any]
) -> None:
    """model_construct is the public way to skip validation; the slots path does what it does,
    faster. Any slot or field it sets differently would show here."""
    ordered = {name: values[name] for name in model.model_fields}
    fast = trusted(model, dict(ordered))
    public = model.model_construct(**ordered)
    for slot in ("__dict__", *SLOTS):
        assert getattr(fast, slot) == getattr(public, slot), (
            f"pydantic {pydantic.VERSION}: {slot} of a constructed {model.__name__} is "
            f"{getattr(public, slot)!r}, rows.py sets {getattr(fast, slot)!r}"
        )
    assert fast == public == model.model_validate(values)
