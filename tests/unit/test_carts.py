"""Cart service on the in-memory adapter: filling, viewing and checking out."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.memory import MemoryUnitOfWorkFactory
from domain.errors import (
    CartItemNotFound,
    EmptyCart,
    InsufficientInventory,
    InvalidInput,
    ProductNotFound,
    UserNotFound,
)
from domain.model import Product, User
from services import AccountService, CartService, CatalogService


@pytest.fixture
def alice(accounts: AccountService) -> User:
    return accounts.register("alice", "alice@example.com", "a long password")


@pytest.fixture
def lamp(catalog: CatalogService) -> Product:
    return catalog.create_product("Lamp", "19.99", inventory_count=5)


@pytest.fixture
def desk(catalog: CatalogService) -> Product:
    return catalog.create_product("Desk", "120.10", inventory_count=2)


def test_adding_twice_adds_up(carts: CartService, alice: User, lamp: Product) -> None:
    carts.add_to_cart(alice.id, lamp.id, 2)
    line = carts.add_to_cart(alice.id, lamp.id, 1)
    assert (line.product_id, line.quantity) == (lamp.id, 3)
    cart = carts.view_cart(alice.id)
    assert cart is not None
    assert [(i.product_id, i.quantity) for i in cart.items] == [(lamp.id, 3)]


def test_view_has_exact_line_totals_and_total(
    carts: CartService, alice: User, lamp: Product, desk: Product
) -> None:
    assert carts.view_cart(alice.id) is None
    carts.add_to_cart(alice.id, lamp.id, 3)
    carts.add_to_cart(alice.id, desk.id, 1)
    cart = carts.view_cart(alice.id)
    assert cart is not None
    assert [i.line_total for i in cart.items] == [Decimal("59.97"), Decimal("120.10")]
    assert cart.total == Decimal("180.07")
    dumped = cart.model_dump()
    assert dumped["total"] == Decimal("180.07")
    assert dumped["items"][0]["line_total"] == Decimal("59.97")


def test_cannot_add_more_than_in_stock(carts: CartService, alice: User, lamp: Product) -> None:
    carts.add_to_cart(alice.id, lamp.id, 4)
    with pytest.raises(InsufficientInventory) as info:
        carts.add_to_cart(alice.id, lamp.id, 2)
    assert (info.value.product_id, info.value.requested, info.value.available) == (lamp.id, 6, 5)
    cart = carts.view_cart(alice.id)
    assert cart is not None
    assert cart.items[0].quantity == 4


def test_add_errors(carts: CartService, alice: User, lamp: Product) -> None:
    with pytest.raises(UserNotFound):
        carts.add_to_cart(999, lamp.id)
    with pytest.raises(ProductNotFound):
        carts.add_to_cart(alice.id, 999)
    with pytest.raises(InvalidInput):
        carts.add_to_cart(alice.id, lamp.id, 0)


def test_change_quantity_and_remove(
    carts: CartService, alice: User, lamp: Product, desk: Product
) -> None:
    carts.add_to_cart(alice.id, lamp.id, 1)
    carts.add_to_cart(alice.id, desk.id, 1)
    line = carts.change_quantity(alice.id, lamp.id, 5)
    assert (line.product_id, line.quantity, line.line_total) == (lamp.id, 5, 5 * lamp.price)
    with pytest.raises(InsufficientInventory):
        carts.change_quantity(alice.id, lamp.id, 6)
    with pytest.raises(InvalidInput):
        carts.change_quantity(alice.id, lamp.id, 0)
    carts.remove_from_cart(alice.id, lamp.id)
    cart = carts.view_cart(alice.id)
    assert cart is not None
    assert [(i.product_id, i.quantity) for i in cart.items] == [(desk.id, 1)]
    with pytest.raises(CartItemNotFound):
        carts.remove_from_cart(alice.id, lamp.id)
    with pytest.raises(CartItemNotFound):
        carts.change_quantity(alice.id, lamp.id, 1)


def test_checkout_reserves_everything_and_empties_the_cart(
    carts: CartService, catalog: CatalogService, alice: User, lamp: Product, desk: Product
) -> None:
    carts.add_to_cart(alice.id, desk.id, 2)
    carts.add_to_cart(alice.id, lamp.id, 3)
    receipt = carts.checkout(alice.id)
    assert [(line.product_id, line.quantity) for line in receipt.lines] == [
        (lamp.id, 3),
        (desk.id, 2),
    ]
    assert receipt.total == Decimal("300.17")
    assert catalog.get_product(lamp.id).inventory_count == 2
    assert catalog.get_product(desk.id).inventory_count == 0
    cart = carts.view_cart(alice.id)
    assert cart is not None
    assert cart.is_empty
    with pytest.raises(EmptyCart):
        carts.checkout(alice.id)


def test_checkout_is_all_or_nothing(
    carts: CartService,
    catalog: CatalogService,
    uow: MemoryUnitOfWorkFactory,
    alice: User,
    lamp: Product,
    desk: Product,
) -> None:
    carts.add_to_cart(alice.id, lamp.id, 2)
    carts.add_to_cart(alice.id, desk.id, 2)
    with uow() as work:  # someone else buys a desk meanwhile
        work.products.reserve(desk.id, 1)
        work.commit()
    before = carts.view_cart(alice.id)
    with pytest.raises(InsufficientInventory) as info:
        carts.checkout(alice.id)
    assert (info.value.product_id, info.value.available) == (desk.id, 1)
    assert catalog.get_product(lamp.id).inventory_count == 5
    assert carts.view_cart(alice.id) == before


def test_checkout_uses_current_prices(
    carts: CartService, catalog: CatalogService, alice: User, lamp: Product
) -> None:
    carts.add_to_cart(alice.id, lamp.id, 2)
    catalog.update_product(lamp.id, lamp.version, price="10.00")
    assert carts.checkout(alice.id).total == Decimal("20.00")


def test_deleted_product_leaves_the_cart(
    carts: CartService, catalog: CatalogService, alice: User, lamp: Product, desk: Product
) -> None:
    carts.add_to_cart(alice.id, lamp.id)
    carts.add_to_cart(alice.id, desk.id)
    catalog.delete_product(lamp.id)
    cart = carts.view_cart(alice.id)
    assert cart is not None
    assert [i.product_id for i in cart.items] == [desk.id]
