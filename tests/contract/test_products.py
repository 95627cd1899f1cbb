# Generated from test_products_async.py (tools/generate_sync.py): edit that instead.
"""Contract of the product repository, held by both adapters."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from decimal import Decimal

import pytest

from adapters.postgres import products as postgres_products
from domain.errors import (
    ConcurrencyConflict,
    InsufficientInventory,
    InvalidInput,
    ProductNotFound,
    RollbackRequired,
)
from domain.model import NewProduct, ProductChanges
from domain.search import Page, ProductQuery, ProductSort
from domain.values import DESCRIPTION_MAX, INT4_MAX
from ports.unit_of_work import UnitOfWorkFactory
from services.catalog import CatalogService
from tests.contract.helpers import add_product


def test_add_and_get(uow: UnitOfWorkFactory) -> None:
    lamp = add_product(uow, "Lamp", "19.99", 3, "Bright")
    with uow(read_only=True) as work:
        assert work.products.get(lamp.id) == lamp
    assert (lamp.id, lamp.version, lamp.price, lamp.description) == (
        1,
        1,
        Decimal("19.99"),
        "Bright",
    )
    assert str(lamp.price) == "19.99"


@pytest.mark.parametrize("price", ["0.00", "0.01", "99999999.99", "12345678.90"])
def test_money_keeps_its_exact_value(uow: UnitOfWorkFactory, price: str) -> None:
    product = add_product(uow, price=price)
    with uow(read_only=True) as work:
        stored = work.products.get(product.id).price
    assert str(stored) == price


def test_add_many_and_get_many(uow: UnitOfWorkFactory) -> None:
    new = [
        NewProduct(name=f"Item {i}", price=Decimal(f"{i}.25"), inventory_count=i, description=None)
        for i in range(1, 6)
    ]
    with uow() as work:
        assert work.products.add_many(iter(new)) == 5
        work.commit()
    with uow(read_only=True) as work:
        found = work.products.get_many([5, 1, 3, 42, 3])
    assert sorted(found) == [1, 3, 5]
    assert found[3].name == "Item 3"
    assert found[3].price == Decimal("3.25")
    assert found[5].version == 1


def test_get_missing(uow: UnitOfWorkFactory) -> None:
    with uow(read_only=True) as work, pytest.raises(ProductNotFound):
        work.products.get(1)


def test_update_checks_the_version(uow: UnitOfWorkFactory) -> None:
    lamp = add_product(uow, description="old")
    with uow() as work:
        changes = ProductChanges(price=Decimal("5.00"), name="Desk lamp")
        updated = work.products.update(lamp.id, 1, changes)
        work.commit()
    assert (updated.version, updated.price, updated.name, updated.description) == (
        2,
        Decimal("5.00"),
        "Desk lamp",
        "old",
    )
    with uow() as work:
        with pytest.raises(ConcurrencyConflict) as info:
            work.products.update(lamp.id, 1, ProductChanges(price=Decimal("1.00")))
        assert (info.value.product_id, info.value.expected_version) == (lamp.id, 1)
        work.rollback()
        with pytest.raises(ProductNotFound):
            work.products.update(99, 1, ProductChanges(price=Decimal("1.00")))
        work.rollback()
        cleared = work.products.update(lamp.id, 2, ProductChanges(description=None))
        assert (cleared.description, cleared.version) == (None, 3)
        bumped = work.products.update(lamp.id, 3, ProductChanges())
        assert bumped.version == 4
        work.commit()
    with uow(read_only=True) as work:
        assert work.products.get(lamp.id) == bumped


def test_restock_and_reserve(uow: UnitOfWorkFactory) -> None:
    lamp = add_product(uow, inventory=2)
    with uow() as work:
        assert work.products.restock(lamp.id, 3).inventory_count == 5
        reserved = work.products.reserve(lamp.id, 5)
        assert (reserved.inventory_count, reserved.version) == (0, 1)
        work.commit()
    with uow() as work:
        with pytest.raises(InsufficientInventory) as info:
            work.products.reserve(lamp.id, 1)
        assert (info.value.product_id, info.value.requested, info.value.available) == (
            lamp.id,
            1,
            0,
        )
        work.rollback()
        with pytest.raises(ProductNotFound), work.savepoint():
            work.products.reserve(99, 1)
        with pytest.raises(ProductNotFound), work.savepoint():
            work.products.restock(99, 1)
        for bad in (0, -1, INT4_MAX + 1):
            with pytest.raises(InvalidInput), work.savepoint():
                work.products.reserve(lamp.id, bad)
            with pytest.raises(InvalidInput), work.savepoint():
                work.products.restock(lamp.id, bad)


def test_restock_past_the_column_range(uow: UnitOfWorkFactory) -> None:
    lamp = add_product(uow, inventory=INT4_MAX - 1)
    with uow() as work, pytest.raises(InvalidInput, match="inventory_count: out of range"):
        work.products.restock(lamp.id, 2)
    with uow(read_only=True) as work:
        assert work.products.get(lamp.id).inventory_count == INT4_MAX - 1


def test_delete(uow: UnitOfWorkFactory) -> None:
    lamp = add_product(uow)
    with uow() as work:
        work.products.delete(lamp.id)
        with pytest.raises(ProductNotFound):
            work.products.delete(lamp.id)
    with uow(read_only=True) as work:
        assert work.products.get(lamp.id) == lamp  # the failed delete rolled back the first


def _names(page: Page[object]) -> list[str]:
    return [p.name for p in page.items]  # type: ignore[attr-defined]


def test_search_filters_sorts_and_escapes(uow: UnitOfWorkFactory) -> None:
    for name, price, stock in [
        ("Desk lamp", "30.00", 0),
        ("floor LAMP", "80.00", 2),
        ("Desk", "120.00", 1),
        ("100% wool_rug", "50.00", 1),
        ("back\\slash", "50.00", 1),
        ("Zebra", "30.00", 5),
        ("Ärmel", "1.00", 1),
    ]:
        add_product(uow, name, price, stock)
    with uow(read_only=True) as work:

        def names(**kwargs: object) -> list[str]:
            return _names(work.products.search(ProductQuery(**kwargs)))  # type: ignore[arg-type]

        assert names() == [
            "100% wool_rug",
            "Desk",
            "Desk lamp",
            "Zebra",
            "back\\slash",
            "floor LAMP",
            "Ärmel",
        ]
        assert names(text="LaMp") == ["Desk lamp", "floor LAMP"]
        assert names(text="lamp", in_stock_only=True) == ["floor LAMP"]
        assert names(text="%") == ["100% wool_rug"]
        assert names(text="_") == ["100% wool_rug"]
        assert names(text="\\") == ["back\\slash"]
        assert names(text="k%l") == []
        assert names(min_price=Decimal("50"), max_price=Decimal("80")) == [
            "100% wool_rug",
            "back\\slash",
            "floor LAMP",
        ]
        assert names(sort=ProductSort.PRICE) == [
            "Ärmel",
            "Desk lamp",
            "Zebra",
            "100% wool_rug",
            "back\\slash",
            "floor LAMP",
            "Desk",
        ]
        assert names(sort=ProductSort.NEWEST, limit=3) == ["Ärmel", "Zebra", "back\\slash"]


@pytest.mark.parametrize("sort", list(ProductSort))
def test_search_pages_cover_everything_once(uow: UnitOfWorkFactory, sort: ProductSort) -> None:
    with uow() as work:  # one transaction: equal timestamps, so ids break the ties
        work.products.add_many(
            NewProduct(name=f"P{i % 4}", price=Decimal(i % 3), inventory_count=1) for i in range(11)
        )
        work.commit()
    add_product(uow, "P9", "0.00")
    seen: list[int] = []
    cursor = None
    with uow(read_only=True) as work:
        everything = [p.id for p in work.products.search(ProductQuery(sort=sort, limit=50)).items]
        while True:
            page = work.products.search(ProductQuery(sort=sort, limit=5, cursor=cursor))
            seen.extend(p.id for p in page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    assert seen == everything
    assert sorted(seen) == list(range(1, 13))


def test_search_with_a_bad_cursor(uow: UnitOfWorkFactory) -> None:
    with uow(read_only=True) as work, pytest.raises(InvalidInput, match="cursor"):
        work.products.search(ProductQuery(cursor="bm90IGEgY3Vyc29y"))


def _products(
    count: int, fail_after: int | None = None, exc: BaseException | None = None
) -> Iterator[NewProduct]:
    """`count` products; with `fail_after`, raise `exc` once that many were handed out."""
    for i in range(count):
        if i == fail_after:
            raise exc if exc is not None else RuntimeError("the source went away")
        yield NewProduct(name=f"Bulk {i}", price=Decimal("1.50"), inventory_count=i)


def _all_names(uow: UnitOfWorkFactory) -> list[str]:
    with uow(read_only=True) as work:
        return [p.name for p in work.products.search(ProductQuery(limit=100)).items]


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> int:
    """Three rows a COPY statement on PostgreSQL, so that a few rows span several batches."""
    monkeypatch.setattr(postgres_products, "COPY_BATCH_ROWS", 3)
    return 3


@pytest.mark.parametrize("exc", [RuntimeError("the source went away"), KeyboardInterrupt()])
def test_add_many_rolls_back_whatever_the_iterable_raises(
    uow: UnitOfWorkFactory, exc: BaseException
) -> None:
    kept = add_product(uow, "Kept")
    with uow() as work:
        work.products.add(NewProduct(name="Uncommitted", price=Decimal("2.00")))
        with pytest.raises(type(exc)):
            work.products.add_many(_products(5, fail_after=2, exc=exc))
        with pytest.raises(RollbackRequired, match=r"products\.add_many"):
            work.commit()  # nothing of the failed import (nor what came before it) is stored
    assert _all_names(uow) == ["Kept"]
    with uow() as work:  # the next unit of work works normally
        assert work.products.add_many(_products(3)) == 3
        work.commit()
    assert _all_names(uow) == ["Bulk 0", "Bulk 1", "Bulk 2", "Kept"]
    with uow(read_only=True) as work:
        assert work.products.get(kept.id) == kept


def test_add_many_spanning_batches_is_all_or_nothing(
    uow: UnitOfWorkFactory, small_batches: int
) -> None:
    with uow() as work:
        with pytest.raises(RuntimeError):
            work.products.add_many(_products(20, fail_after=3 * small_batches + 1))
        with pytest.raises(RollbackRequired):
            work.commit()
    assert _all_names(uow) == []
    with uow() as work:
        assert work.products.add_many(_products(4 * small_batches)) == 4 * small_batches
        assert work.products.add_many(_products(0)) == 0
        work.commit()
    assert len(_all_names(uow)) == 4 * small_batches


def test_import_rolls_back_a_bad_row_after_several_batches(
    uow: UnitOfWorkFactory, small_batches: int
) -> None:
    catalog = CatalogService(uow)
    good: list[dict[str, object]] = [
        {"name": f"Row {i}", "price": "1.00"} for i in range(3 * small_batches)
    ]
    with pytest.raises(InvalidInput, match=f"row {len(good) + 1}: price"):
        catalog.import_products([*good, {"name": "Bad", "price": "-1"}, *good])
    with pytest.raises(RuntimeError):
        catalog.import_products(_products(20, fail_after=2 * small_batches))
    assert _all_names(uow) == []
    assert catalog.import_products(good) == len(good)
    assert len(_all_names(uow)) == len(good)


FOLDING_NAMES = [
    *("İstanbul", "ΟΔΟΣ", "οδος", "École", "Straße", "STRASSE", "Cafe\u0301", "Café"),
    *("crème brûlée", "Öl", "\u212a-Lamp", "Ǆemal", "\u017ftar"),
]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("istanbul", []),  # İ folds to two characters (or, in Turkish, to i): it stays İ
        ("İSTANBUL", ["İstanbul"]),
        ("ΟΔΟΣ", ["ΟΔΟΣ", "οδος"]),  # capital and final sigma fold to the small one
        ("οδος", ["ΟΔΟΣ", "οδος"]),
        ("οδοσ", ["ΟΔΟΣ", "οδος"]),
        ("école", ["École"]),
        ("ÉCOLE", ["École"]),
        ("strasse", ["STRASSE"]),  # ß is not "ss": that folding is two characters
        ("STRAßE", ["Straße"]),
        ("STRAẞE", ["Straße"]),  # capital sharp s folds to ß
        ("CRÈME", ["crème brûlée"]),
        ("ÖL", ["Öl"]),
        ("klamp", []),
        ("k-lamp", ["\u212a-Lamp"]),  # the Kelvin sign folds to k
        ("ǆ", ["Ǆemal"]),
        ("star", ["\u017ftar"]),  # long s folds to s
        ("café", ["Café"]),  # precomposed é is not e + combining acute
        ("CAFE", ["Cafe\u0301"]),  # code points: the e of the decomposed form matches
        ("\u0301", ["Cafe\u0301"]),
    ],
)
def test_search_folds_case_by_unicode_simple_folding(
    uow: UnitOfWorkFactory, text: str, found: list[str]
) -> None:
    with uow() as work:
        for name in FOLDING_NAMES:
            work.products.add(NewProduct(name=name, price=Decimal(1)))
        work.commit()
    with uow(read_only=True) as work:
        page = work.products.search(ProductQuery(text=text, limit=50))
    assert sorted(p.name for p in page.items) == sorted(found)


def _cursor(payload: object) -> str:
    data = json.dumps(payload).encode()
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        base64.urlsafe_b64encode(b"[" * 100_000).decode(),
        _cursor(["name", "Lamp", True]),
        _cursor(["name", "La\ud800mp", 1]),
        _cursor(["name", "La\x00mp", 1]),
        _cursor(["price", "1e26", 1]),
        _cursor(["newest", "2026-11-23T12:30:15", 1]),
    ],
)
def test_search_refuses_cursors_it_did_not_make(uow: UnitOfWorkFactory, cursor: str) -> None:
    add_product(uow)
    with uow(read_only=True) as work:
        for sort in ProductSort:
            with pytest.raises(InvalidInput, match="cursor"):
                work.products.search(ProductQuery(sort=sort, cursor=cursor))


def test_descriptions_up_to_the_limit_are_stored_whole(uow: UnitOfWorkFactory) -> None:
    longest = "\U0001f600" * DESCRIPTION_MAX
    lamp = add_product(uow, description=longest)
    with uow(read_only=True) as work:
        assert work.products.get(lamp.id).description == longest
    with pytest.raises(InvalidInput, match="description"):
        CatalogService(uow).update_product(lamp.id, 1, description=longest + "x")
    with uow(read_only=True) as work:
        assert work.products.get(lamp.id) == lamp
