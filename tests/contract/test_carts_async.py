"""Contract of the cart repository, held by both adapters."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import ParamSpec, TypeAlias, TypeVar

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
from ports.unit_of_work_async import AsyncUnitOfWork, AsyncUnitOfWorkFactory
from tests.concurrent_async import Barrier, run_all
from tests.contract.helpers_async import add_product, add_user, snapshot

if True:  # ASYNC
    P = ParamSpec("P")
    T = TypeVar("T")
    # A function whose result is awaited: the sync module's `Callable`.
    AsyncCallable: TypeAlias = Callable[P, Awaitable[T]]


async def test_get_or_create_makes_one_cart_per_user(uow: AsyncUnitOfWorkFactory) -> None:
    alice = await add_user(uow)
    async with uow() as work:
        assert await work.carts.find_for_user(alice.id) is None
        cart = await work.carts.get_or_create(alice.id)
        assert (cart.id, cart.user_id, cart.items) == (1, alice.id, ())
        assert await work.carts.get_or_create(alice.id) == cart
        await work.commit()
    async with uow(read_only=True) as work:
        assert await work.carts.get(cart.id) == cart
        assert await work.carts.find_for_user(alice.id) == cart
    async with uow() as work:
        with pytest.raises(UserNotFound):
            await work.carts.get_or_create(99)


async def test_items_carry_current_name_and_price(uow: AsyncUnitOfWorkFactory) -> None:
    alice = await add_user(uow)
    lamp, desk = await add_product(uow, "Lamp", "19.99"), await add_product(uow, "Desk")
    async with uow() as work:
        cart = await work.carts.get_or_create(alice.id)
        item = await work.carts.add_item(cart.id, desk.id, 1)
        assert (item.id, item.product_id, item.quantity, item.product_name) == (
            1,
            desk.id,
            1,
            "Desk",
        )
        await work.carts.add_item(cart.id, lamp.id, 2)
        again = await work.carts.add_item(cart.id, desk.id, 3)
        assert (again.id, again.quantity) == (1, 4)
        await work.products.update(lamp.id, 1, ProductChanges(price=Decimal("10.01")))
        await work.commit()
    async with uow(read_only=True) as work:
        loaded = await work.carts.get(cart.id)
    assert [(i.product_id, i.quantity, i.unit_price) for i in loaded.items] == [
        (desk.id, 4, Decimal("19.99")),
        (lamp.id, 2, Decimal("10.01")),
    ]
    assert loaded.total == Decimal("99.98")


async def test_add_item_errors_and_consumed_ids(uow: AsyncUnitOfWorkFactory) -> None:
    alice, lamp = await add_user(uow), await add_product(uow)
    async with uow() as work:
        cart = await work.carts.get_or_create(alice.id)
        await work.commit()
    async with uow() as work:
        with pytest.raises(CartNotFound):
            await work.carts.add_item(99, lamp.id, 1)
        await work.rollback()
        with pytest.raises(CartNotFound):
            await work.carts.add_item(99, 98, 1)  # the cart is checked first
        await work.rollback()
        with pytest.raises(ProductNotFound):
            await work.carts.add_item(cart.id, 99, 1)
        await work.rollback()
        with pytest.raises(InvalidInput):
            await work.carts.add_item(cart.id, lamp.id, 0)
        await work.rollback()
        with pytest.raises(InsufficientInventory) as short:
            await work.carts.add_item(cart.id, lamp.id, INT4_MAX)
        assert (short.value.requested, short.value.available) == (INT4_MAX, 10)
        await work.rollback()
        await work.carts.add_item(cart.id, lamp.id, 10)
        with pytest.raises(InsufficientInventory) as short:
            await work.carts.add_item(cart.id, lamp.id, 1)
        assert (short.value.requested, short.value.available) == (11, 10)
        await work.rollback()
        item = await work.carts.add_item(cart.id, lamp.id, 1)
        await work.commit()
    # An id is drawn whenever the cart exists, even if the line then fails (like an identity
    # column's); the refused line rolled the transaction back, so the last insert made a new
    # row.
    assert (item.id, item.quantity) == (5, 1)


async def test_set_quantity_remove_and_clear(uow: AsyncUnitOfWorkFactory) -> None:
    alice, lamp, desk = await add_user(uow), await add_product(uow), await add_product(uow, "Desk")
    async with uow() as work:
        cart = await work.carts.get_or_create(alice.id)
        await work.carts.add_item(cart.id, lamp.id, 1)
        await work.carts.add_item(cart.id, desk.id, 1)
        assert (await work.carts.set_quantity(cart.id, lamp.id, 7)).quantity == 7
        await work.carts.remove_item(cart.id, desk.id)
        await work.commit()
    async with uow() as work:
        assert [(i.product_id, i.quantity) for i in (await work.carts.get(cart.id)).items] == [
            (lamp.id, 7)
        ]
        # Each refusal inside its own savepoint block: the unit of work goes on after it.
        with pytest.raises(CartItemNotFound):
            async with work.savepoint():
                await work.carts.set_quantity(cart.id, desk.id, 1)
        with pytest.raises(CartItemNotFound):
            async with work.savepoint():
                await work.carts.remove_item(cart.id, desk.id)
        with pytest.raises(InvalidInput):
            async with work.savepoint():
                await work.carts.set_quantity(cart.id, lamp.id, 0)
        await work.carts.clear(cart.id)
        assert (await work.carts.get(cart.id)).items == ()
        with pytest.raises(CartNotFound):
            await work.carts.clear(99)
        with pytest.raises(CartNotFound):
            await work.carts.get(99)


async def test_deletes_cascade(uow: AsyncUnitOfWorkFactory) -> None:
    alice, bob = await add_user(uow, "alice"), await add_user(uow, "bob")
    lamp, desk = await add_product(uow), await add_product(uow, "Desk")
    async with uow() as work:
        carts = [await work.carts.get_or_create(user.id) for user in (alice, bob)]
        for cart in carts:
            await work.carts.add_item(cart.id, lamp.id, 1)
            await work.carts.add_item(cart.id, desk.id, 1)
        await work.commit()
    async with uow() as work:
        await work.products.delete(lamp.id)
        await work.users.delete(alice.id)
        await work.commit()
    async with uow(read_only=True) as work:
        with pytest.raises(CartNotFound):
            await work.carts.get(carts[0].id)
        assert [i.product_id for i in (await work.carts.get(carts[1].id)).items] == [desk.id]


async def test_locked_load_returns_the_same_aggregate(uow: AsyncUnitOfWorkFactory) -> None:
    alice, lamp = await add_user(uow), await add_product(uow)
    async with uow() as work:
        cart = await work.carts.get_or_create(alice.id)
        await work.carts.add_item(cart.id, lamp.id, 2)
        await work.commit()
    async with uow() as work:
        assert await work.carts.find_for_user(alice.id, lock=True) == await work.carts.get(cart.id)
        assert await work.carts.find_for_user(99, lock=True) is None


async def test_add_for_user_creates_the_cart_and_adds_up(uow: AsyncUnitOfWorkFactory) -> None:
    alice, lamp = await add_user(uow), await add_product(uow, "Lamp", "19.99", 5)
    async with uow() as work:
        first = await work.carts.add_for_user(alice.id, lamp.id, 2)
        line = await work.carts.add_for_user(alice.id, lamp.id, 1)
        await work.commit()
    assert (first.quantity, line.id, line.quantity, line.line_total) == (
        2,
        first.id,
        3,
        Decimal("59.97"),
    )
    async with uow(read_only=True) as work:
        cart = await work.carts.find_for_user(alice.id)
    assert cart is not None
    assert cart.items == (line,)
    async with uow() as work:
        with pytest.raises(UserNotFound):
            await work.carts.add_for_user(99, lamp.id, 1)
    async with uow() as work:
        with pytest.raises(ProductNotFound):
            await work.carts.add_for_user(alice.id, 99, 1)
    async with uow() as work:
        with pytest.raises(InsufficientInventory):
            await work.carts.add_for_user(alice.id, lamp.id, 3)


async def test_set_quantity_and_remove_for_user_touch_only_the_users_line(
    uow: AsyncUnitOfWorkFactory,
) -> None:
    alice, bob = await add_user(uow, "alice"), await add_user(uow, "bob")
    carol = await add_user(uow, "carol")
    lamp = await add_product(uow, "Lamp", "19.99", 5)
    desk = await add_product(uow, "Desk", "5.00", 5)
    async with uow() as work:
        for user in (alice, bob):
            await work.carts.add_for_user(user.id, lamp.id, 1)
            await work.carts.add_for_user(user.id, desk.id, 1)
        line = await work.carts.set_quantity_for_user(alice.id, lamp.id, 5)
        await work.carts.remove_for_user(alice.id, desk.id)
        await work.commit()
    assert (line.product_id, line.quantity, line.line_total) == (lamp.id, 5, Decimal("99.95"))
    async with uow(read_only=True) as work:
        mine = await work.carts.find_for_user(alice.id)
        theirs = await work.carts.find_for_user(bob.id)
    assert mine is not None
    assert theirs is not None
    assert mine.items == (line,)
    assert [(i.product_id, i.quantity) for i in theirs.items] == [(lamp.id, 1), (desk.id, 1)]
    before = await snapshot(uow)
    refusals: dict[str, AsyncCallable[[AsyncUnitOfWork], object]] = {
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
        async with uow() as work:
            with pytest.raises(DomainError) as info:
                await call(work)
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
    async with uow() as work:
        with pytest.raises(InsufficientInventory) as short:
            await work.carts.set_quantity_for_user(alice.id, lamp.id, 6)
    assert (short.value.requested, short.value.available) == (6, 5)
    assert await snapshot(uow) == before


async def test_a_cart_holds_at_most_the_line_cap(uow: AsyncUnitOfWorkFactory) -> None:
    alice = await add_user(uow)
    async with uow() as work:
        await work.products.add_many(
            NewProduct(name=f"P{n}", price=Decimal("1.00"), inventory_count=5)
            for n in range(CART_LINES_MAX + 1)
        )
        for product_id in range(1, CART_LINES_MAX + 1):
            await work.carts.add_for_user(alice.id, product_id, 1)
        await work.commit()
        cart = await work.carts.find_for_user(alice.id)
    assert cart is not None
    before = await snapshot(uow)
    async with uow() as work:
        await work.products.restock(1, 5)  # an earlier write of the same unit of work
        with pytest.raises(CartFull) as info:
            await work.carts.add_for_user(alice.id, CART_LINES_MAX + 1, 1)
        with pytest.raises(RollbackRequired, match=r"carts\.add_for_user \(CartFull\)"):
            await work.commit()  # the refused add rolled the restock back: nothing to commit
    assert (info.value.cart_id, info.value.limit) == (cart.id, CART_LINES_MAX)
    async with uow() as work:
        with pytest.raises(CartFull) as info:
            await work.carts.add_item(cart.id, CART_LINES_MAX + 1, 1)
    assert info.value.cart_id == cart.id
    assert await snapshot(uow) == before
    async with uow() as work:  # a line already there may still grow
        assert (await work.carts.add_for_user(alice.id, 1, 1)).quantity == 2
        await work.commit()


@pytest.mark.usefixtures("short_switch_interval")
async def test_concurrent_adds_cannot_pass_the_line_cap_together(
    uow: AsyncUnitOfWorkFactory,
) -> None:
    alice = await add_user(uow)
    async with uow() as work:
        await work.products.add_many(
            NewProduct(name=f"P{n}", price=Decimal("1.00"), inventory_count=5)
            for n in range(CART_LINES_MAX + 6)
        )
        for product_id in range(1, CART_LINES_MAX - 1):  # two lines short of the cap
            await work.carts.add_for_user(alice.id, product_id, 1)
        await work.commit()
    start = Barrier(8)
    refused: list[CartFull] = []

    async def add(product_id: int) -> None:
        await start.wait()
        try:
            async with uow() as work:
                await work.carts.add_for_user(alice.id, product_id, 1)
                await work.commit()
        except CartFull as exc:
            refused.append(exc)

    await run_all(
        [functools.partial(add, p) for p in range(CART_LINES_MAX - 1, CART_LINES_MAX + 7)]
    )
    async with uow(read_only=True) as work:
        cart = await work.carts.find_for_user(alice.id)
    assert cart is not None
    assert (len(cart.items), len(refused)) == (CART_LINES_MAX, 6)
