"""Catalog service on the in-memory adapter."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.memory import MemoryUnitOfWorkFactory
from domain.errors import ConcurrencyConflict, InvalidInput, ProductNotFound
from domain.search import ProductSort
from services import CatalogService


def test_create_and_get(catalog: CatalogService) -> None:
    lamp = catalog.create_product("Lamp", "19.99", "A lamp", inventory_count=3)
    assert catalog.get_product(lamp.id) == lamp
    assert (lamp.version, lamp.price, lamp.inventory_count) == (1, Decimal("19.99"), 3)


def test_update_with_the_current_version_wins_and_a_stale_one_conflicts(
    catalog: CatalogService,
) -> None:
    lamp = catalog.create_product("Lamp", "19.99")
    updated = catalog.update_product(lamp.id, lamp.version, price="17.50", description="On sale")
    assert (updated.version, updated.price, updated.description) == (
        2,
        Decimal("17.50"),
        "On sale",
    )
    with pytest.raises(ConcurrencyConflict) as info:
        catalog.update_product(lamp.id, lamp.version, price="1.00")
    assert info.value.expected_version == 1
    assert catalog.get_product(lamp.id).price == Decimal("17.50")


def test_update_can_clear_the_description(catalog: CatalogService) -> None:
    lamp = catalog.create_product("Lamp", "1.00", "text")
    assert catalog.update_product(lamp.id, 1, description=None).description is None


def test_update_rejects_bad_values_and_unknown_fields(catalog: CatalogService) -> None:
    lamp = catalog.create_product("Lamp", "1.00")
    with pytest.raises(InvalidInput, match="price"):
        catalog.update_product(lamp.id, 1, price="1.001")
    with pytest.raises(InvalidInput, match="inventory_count"):
        catalog.update_product(lamp.id, 1, inventory_count=5)
    assert catalog.get_product(lamp.id) == lamp


def test_restock_and_delete(catalog: CatalogService) -> None:
    lamp = catalog.create_product("Lamp", "1.00", inventory_count=1)
    assert catalog.restock(lamp.id, 4).inventory_count == 5
    with pytest.raises(InvalidInput):
        catalog.restock(lamp.id, 0)
    catalog.delete_product(lamp.id)
    with pytest.raises(ProductNotFound):
        catalog.get_product(lamp.id)


def test_restock_beyond_the_column_range_is_refused(catalog: CatalogService) -> None:
    lamp = catalog.create_product("Lamp", "1.00", inventory_count=2**31 - 1)
    with pytest.raises(InvalidInput, match="inventory_count"):
        catalog.restock(lamp.id, 1)


def test_bulk_import_is_all_or_nothing(
    catalog: CatalogService, uow: MemoryUnitOfWorkFactory
) -> None:
    rows = [{"name": f"Item {i}", "price": f"{i}.00"} for i in range(5)]
    with pytest.raises(InvalidInput, match="row 6: price"):
        catalog.import_products([*rows, {"name": "Bad", "price": "-1"}])
    assert catalog.search().items == ()
    assert catalog.import_products(rows) == 5
    assert [p.name for p in catalog.search().items] == [f"Item {i}" for i in range(5)]


def test_search_filters(catalog: CatalogService) -> None:
    catalog.create_product("Desk lamp", "30.00", inventory_count=0)
    catalog.create_product("Floor LAMP", "80.00", inventory_count=2)
    catalog.create_product("Desk", "120.00", inventory_count=1)
    catalog.create_product("100% wool_rug", "50.00", inventory_count=1)

    def names(**kwargs: object) -> list[str]:
        return [p.name for p in catalog.search(**kwargs).items]  # type: ignore[arg-type]

    assert names(text="lamp") == ["Desk lamp", "Floor LAMP"]
    assert names(text="lamp", in_stock_only=True) == ["Floor LAMP"]
    assert names(min_price="50", max_price="100") == ["100% wool_rug", "Floor LAMP"]
    assert names(text="%") == ["100% wool_rug"]
    assert names(text="_") == ["100% wool_rug"]
    assert names(text="0%_") == []
    assert names(sort=ProductSort.PRICE) == ["Desk lamp", "100% wool_rug", "Floor LAMP", "Desk"]
    assert names(sort="newest") == ["100% wool_rug", "Desk", "Floor LAMP", "Desk lamp"]


def test_search_pages_follow_the_cursor(catalog: CatalogService) -> None:
    for i in range(7):
        catalog.create_product(f"P{i}", "1.00")
    first = catalog.search(limit=3)
    second = catalog.search(limit=3, cursor=first.next_cursor)
    third = catalog.search(limit=3, cursor=second.next_cursor)
    assert [p.name for p in first.items + second.items + third.items] == [f"P{i}" for i in range(7)]
    assert third.next_cursor is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"cursor": "garbage"},
        {"limit": 0},
        {"limit": 501},
        {"min_price": "5", "max_price": "1"},
        {"text": "a\x00"},
        {"sort": "cheapest"},
    ],
)
def test_bad_search_input(catalog: CatalogService, kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        catalog.search(**kwargs)  # type: ignore[arg-type]


def test_a_cursor_belongs_to_its_sort_order(catalog: CatalogService) -> None:
    for i in range(3):
        catalog.create_product(f"P{i}", "1.00")
    cursor = catalog.search(limit=1).next_cursor
    with pytest.raises(InvalidInput, match="cursor"):
        catalog.search(limit=1, sort="price", cursor=cursor)
