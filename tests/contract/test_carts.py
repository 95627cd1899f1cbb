# Generated from test_carts_async.py (tools/generate_sync.py): edit that instead.
"""Contract of the cart repository, held by both adapters."""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import Decimal

import pytest

from domain.errors import (
    CartFull,
    CartItemNotFound,
    CartNotFound,
    DomainError,
    InsufficientInventory,
    InvalidInput,
    ProductNotFound,
    RollbackRequired,
    UserNotFound,
)
from domain.model import NewProduct, ProductChanges
from domain.values import CART_LINES_MAX, INT4_MAX
from ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from tests.concurrent import Barrier, run_all
from tests.contract.helpers import add_product, add_user, snapshot


def test_get_or_create_makes_one_cart_per_user(uow: UnitOfWorkFactory) -> None:
    alice = add_user(uow)
    with uow() as work:
        assert work.carts.find_for_user(alice.id) is None
        cart = work.carts.get_or_create(alice.id)
        assert (cart.id, cart.user_id, cart.items) == (1, alice.id, ())
        assert work.carts.get_or_create(alice.id) == cart
        work.commit()
    with uow(read_only=True) as work:
        assert work.carts.get(cart.id) == cart
        assert work.carts.find_for_user(alice.id) == cart
    with uow() as work, pytest.raises(UserNotFound):
        work.carts.get_or_create(99)


def test_items_carry_current_name_and_price(uow: UnitOfWorkFactory) -> None:
    alice = add_user(uow)
    lamp, desk = add_product(uow, "Lamp", "19.99"), add_product(uow, "Desk")
    with uow() as work:
        cart = work.carts.get_or_create(alice.id)
        item = work.carts.add_item(cart.id, desk.id, 1)
        assert (item.id, item.product_id, item.quantity, item.product_name) == (
            1,
            desk.id,
            1,
            "Desk",
        )
        work.carts.add_item(cart.id, lamp.id, 2)
        again = work.carts.add_item(cart.id, desk.id, 3)
        assert (again.id, again.quantity) == (1, 4)
        work.products.update(lamp.id, 1, ProductChanges(price=Decimal("10.01")))
        work.commit()
    with uow(read_only=True) as work:
        loaded = work.carts.get(cart.id)
    assert [(i.product_id, i.quantity, i.unit_price) for i in loaded.items] == [
        (desk.id, 4, Decimal("19.99")),
        (lamp.id, 2, Decimal("10.01")),
    ]
    assert loaded.total == Decimal("99.98")


def test_add_item_errors_and_consumed_ids(uow: UnitOfWorkFactory) -> None:
    alice, lamp = add_user(uow), add_product(uow)
    with uow() as work:
        cart = work.carts.get_or_create(alice.id)
        work.commit()
    with uow() as work:
        with pytest.raises(CartNotFound):
            work.carts.add_item(99, lamp.id, 1)
        work.rollback()
        with pytest.raises(CartNotFound):
            work.carts.add_item(99, 98, 1)  # the cart is checked first
        work.rollback()
        with pytest.raises(ProductNotFound):
            work.carts.add_item(cart.id, 99, 1)
        work.rollback()
        with pytest.raises(InvalidInput):
            work.carts.add_item(cart.id, lamp.id, 0)
        work.rollback()
        with pytest.raises(InsufficientInventory) as short:
            work.carts.add_item(cart.id, lamp.id, INT4_MAX)
        assert (short.value.requested, short.value.available) == (INT4_MAX, 10)
        work.rollback()
        work.carts.add_item(cart.id, lamp.id, 10)
        with pytest.raises(InsufficientInventory) as short:
            work.carts.add_item(cart.id, lamp.id, 1)
        assert (short.value.requested, short.value.available) == (11, 10)
        work.rollback()
        item = work.carts.add_item(cart.id, lamp.id, 1)
        work.commit()
    # An id is drawn whenever the cart exists, even if the line then fails (like an identity
    # column's); the refused line rolled the transaction back, so the last insert made a new
    # row.
    assert (item.id, item.quantity) == (5, 1)


def test_set_quantity_remove_and_clear(uow: UnitOfWorkFactory) -> None:
    alice, lamp, desk = add_user(uow), add_product(uow), add_product(uow, "Desk")
    with uow() as work:
        cart = work.carts.get_or_create(alice.id)
        work.carts.add_item(cart.id, lamp.id, 1)
        work.carts.add_item(cart.id, desk.id, 1)
        assert work.carts.set_quantity(cart.id, lamp.id, 7).quantity == 7
        work.carts.remove_item(cart.id, desk.id)
        work.commit()
    with uow() as work:
        assert [(i.product_id, i.quantity) for i in work.carts.get(cart.id).items] == [(lamp.id, 7)]
        # Each refusal inside its own savepoint block: the unit of work goes on after it.
        with pytest.raises(CartItemNotFound), work.savepoint():
            work.carts.set_quantity(cart.id, desk.id, 1)
        with pytest.raises(CartItemNotFound), work.savepoint():
            work.carts.remove_item(cart.id, desk.id)
        with pytest.raises(InvalidInput), work.savepoint():
            work.carts.set_quantity(cart.id, lamp.id, 0)
        work.carts.clear(cart.id)
        assert work.carts.get(cart.id).items == ()
        with pytest.raises(CartNotFound):
            work.carts.clear(99)
        with pytest.raises(CartNotFound):
            work.carts.get(99)


def test_deletes_cascade(uow: UnitOfWorkFactory) -> None:
    alice, bob = add_user(uow, "alice"), add_user(uow, "bob")
    lamp, desk = add_product(uow), add_product(uow, "Desk")
    with uow() as work:
        carts = [work.carts.get_or_create(user.id) for user in (alice, bob)]
        for cart in carts:
            work.carts.add_item(cart.id, lamp.id, 1)
            work.carts.add_item(cart.id, desk.id, 1)
        work.commit()
    with uow() as work:
        work.products.delete(lamp.id)
        work.users.delete(alice.id)
        work.commit()
    with uow(read_only=True) as work:
        with pytest.raises(CartNotFound):
            work.carts.get(carts[0].id)
        assert [i.product_id for i in work.carts.get(carts[1].id).items] == [desk.id]


def test_locked_load_returns_the_same_aggregate(uow: UnitOfWorkFactory) -> None:
    alice, lamp = add_user(uow), add_product(uow)
    with uow() as work:
        cart = work.carts.get_or_create(alice.id)
        work.carts.add_item(cart.id, lamp.id, 2)
        work.commit()
    with uow() as work:
        assert work.carts.find_for_user(alice.id, lock=True) == work.carts.get(cart.id)
        assert work.carts.find_for_user(99, lock=True) is None


def test_add_for_user_creates_the_cart_and_adds_up(uow: UnitOfWorkFactory) -> None:
    alice, lamp = add_user(uow), add_product(uow, "Lamp", "19.99", 5)
    with uow() as work:
        first = work.carts.add_for_user(alice.id, lamp.id, 2)
        line = work.carts.add_for_user(alice.id, lamp.id, 1)
        work.commit()
    assert (first.quantity, line.id, line.quantity, line.line_total) == (
        2,
        first.id,
        3,
        Decimal("59.97"),
    )
    with uow(read_only=True) as work:
        cart = work.carts.find_for_user(alice.id)
    assert cart is not None
    assert cart.items == (line,)
    with uow() as work, pytest.raises(UserNotFound):
        work.carts.add_for_user(99, lamp.id, 1)
    with uow() as work, pytest.raises(ProductNotFound):
        work.carts.add_for_user(alice.id, 99, 1)
    with uow() as work, pytest.raises(InsufficientInventory):
        work.carts.add_for_user(alice.id, lamp.id, 3)


def test_set_quantity_and_remove_for_user_touch_only_the_users_line(
    uow: UnitOfWorkFactory,
) -> None:
    alice, bob = add_user(uow, "alice"), add_user(uow, "bob")
    carol = add_user(uow, "carol")
    lamp = add_product(uow, "Lamp", "19.99", 5)
    desk = add_product(uow, "Desk", "5.00", 5)
    with uow() as work:
        for user in (alice, bob):
            work.carts.add_for_user(user.id, lamp.id, 1)
            work.carts.add_for_user(user.id, desk.id, 1)
        line = work.carts.set_quantity_for_user(alice.id, lamp.id, 5)
        work.carts.remove_for_user(alice.id, desk.id)
        work.commit()
    assert (line.product_id, line.quantity, line.line_total) == (lamp.id, 5, Decimal("99.95"))
    with uow(read_only=True) as work:
        mine = work.carts.find_for_user(alice.id)
        theirs = work.carts.find_for_user(bob.id)
    assert mine is not None
    assert theirs is not None
    assert mine.items == (line,)
    assert [(i.product_id, i.quantity) for i in theirs.items] == [(lamp.id, 1), (desk.id, 1)]
    before = snapshot(uow)
    refusals: dict[str, Callable[[UnitOfWork], object]] = {
        "short": (lambda w: w.carts.set_quantity_for_user(alice.id, lamp.id, 6)),
        "no line": (lambda w: w.carts.set_quantity_for_user(alice.id, desk.id, 1)),
        "no line to remove": (lambda w: w.carts.remove_for_user(alice.id, desk.id)),
        "no cart": (lambda w: w.carts.set_quantity_for_user(carol.id, lamp.id, 1)),
        "no cart to remove": (lambda w: w.carts.remove_for_user(carol.id, lamp.id)),
        "no user": (lambda w: w.carts.set_quantity_for_user(99, lamp.id, 1)),
        "no user to remove": (lambda w: w.carts.remove_for_user(99, lamp.id)),
        "zero": (lambda w: w.carts.set_quantity_for_user(alice.id, lamp.id, 0)),
    }
    raised = {}
    for name, call in refusals.items():
        with uow() as work, pytest.raises(DomainError) as info:
            call(work)
        raised[name] = (type(info.value).__name__, getattr(info.value, "cart_id", "-"))
    assert raised == {
        "short": ("InsufficientInventory", "-"),
        "no line": ("CartItemNotFound", mine.id),
        "no line to remove": ("CartItemNotFound", mine.id),
        "no cart": ("CartItemNotFound", None),
        "no cart to remove": ("CartItemNotFound", None),
        "no user": ("UserNotFound", "-"),
        "no user to remove": ("UserNotFound", "-"),
        "zero": ("InvalidInput", "-"),
    }
    with uow() as work, pytest.raises(InsufficientInventory) as short:
        work.carts.set_quantity_for_user(alice.id, lamp.id, 6)
    assert (short.value.requested, short.value.available) == (6, 5)
    assert snapshot(uow) == before


def test_a_cart_holds_at_most_the_line_cap(uow: UnitOfWorkFactory) -> None:
    alice = add_user(uow)
    with uow() as work:
        work.products.add_many(
            NewProduct(name=f"P{n}", price=Decimal("1.00"), inventory_count=5)
            for n in range(CART_LINES_MAX + 1)
        )
        for product_id in range(1, CART_LINES_MAX + 1):
            work.carts.add_for_user(alice.id, product_id, 1)
        work.commit()
        cart = work.carts.find_for_user(alice.id)
    assert cart is not None
    before = snapshot(uow)
    with uow() as work:
        work.products.restock(1, 5)  # an earlier write of the same unit of work
        with pytest.raises(CartFull) as info:
            work.carts.add_for_user(alice.id, CART_LINES_MAX + 1, 1)
        with pytest.raises(RollbackRequired, match=r"carts\.add_for_user \(CartFull\)"):
            work.commit()  # the refused add rolled the restock back: nothing to commit
    assert (info.value.cart_id, info.value.limit) == (cart.id, CART_LINES_MAX)
    with uow() as work, pytest.raises(CartFull) as info:
        work.carts.add_item(cart.id, CART_LINES_MAX + 1, 1)
    assert info.value.cart_id == cart.id
    assert snapshot(uow) == before
    with uow() as work:  # a line already there may still grow
        assert work.carts.add_for_user(alice.id, 1, 1).quantity == 2
        work.commit()


@pytest.mark.usefixtures("short_switch_interval")
def test_concurrent_adds_cannot_pass_the_line_cap_together(
    uow: UnitOfWorkFactory,
) -> None:
    alice = add_user(uow)
    with uow() as work:
        work.products.add_many(
            NewProduct(name=f"P{n}", price=Decimal("1.00"), inventory_count=5)
            for n in range(CART_LINES_MAX + 6)
        )
        for product_id in range(1, CART_LINES_MAX - 1):  # two lines short of the cap
            work.carts.add_for_user(alice.id, product_id, 1)
        work.commit()
    start = Barrier(8)
    refused: list[CartFull] = []

    def add(product_id: int) -> None:
        start.wait()
        try:
            with uow() as work:
                work.carts.add_for_user(alice.id, product_id, 1)
                work.commit()
        except CartFull as exc:
            refused.append(exc)

    run_all([functools.partial(add, p) for p in range(CART_LINES_MAX - 1, CART_LINES_MAX + 7)])
    with uow(read_only=True) as work:
        cart = work.carts.find_for_user(alice.id)
    assert cart is not None
    assert (len(cart.items), len(refused)) == (CART_LINES_MAX, 6)
