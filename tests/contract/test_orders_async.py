"""Contract of the order repository, held by both adapters: checkout as one order, exactly
once per idempotency key, history kept and paged."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import ParamSpec, TypeAlias, TypeVar

import pytest

from domain.errors import (
    EmptyCart,
    InsufficientInventory,
    InvalidInput,
    OrderNotFound,
    RollbackRequired,
)
from domain.model import Order, OrderStatus, ProductChanges
from ports.unit_of_work_async import AsyncUnitOfWorkFactory
from services.retry_async import retrying
from tests.concurrent_async import AsyncWorker, Barrier, run_all
from tests.contract.helpers_async import add_product, add_user, snapshot

if True:  # ASYNC
    P = ParamSpec("P")
    T = TypeVar("T")
    # A function whose result is awaited: the sync module's `Callable`.
    AsyncCallable: TypeAlias = Callable[P, Awaitable[T]]


async def _fill(uow: AsyncUnitOfWorkFactory, user_id: int, *lines: tuple[int, int]) -> None:
    async with uow() as work:
        cart = await work.carts.get_or_create(user_id)
        for product_id, quantity in lines:
            await work.carts.add_item(cart.id, product_id, quantity)
        await work.commit()


async def _place(uow: AsyncUnitOfWorkFactory, user_id: int, key: str) -> Order:
    async with uow() as work:
        order = await work.orders.place(user_id, key)
        await work.commit()
    return order


async def _stock(uow: AsyncUnitOfWorkFactory, *product_ids: int) -> list[int]:
    async with uow(read_only=True) as work:
        return [(await work.products.get(p)).inventory_count for p in product_ids]


async def test_place_records_the_sale_reserves_and_empties_the_cart(
    uow: AsyncUnitOfWorkFactory,
) -> None:
    alice = await add_user(uow)
    lamp = await add_product(uow, "Lamp", "19.99", 5)
    desk = await add_product(uow, "Desk", "100.00", 3)
    await _fill(uow, alice.id, (desk.id, 2), (lamp.id, 3))
    order = await _place(uow, alice.id, "k1")
    assert (order.id, order.user_id, order.status) == (1, alice.id, OrderStatus.PLACED)
    assert [(x.product_id, x.product_name, x.unit_price, x.quantity) for x in order.lines] == [
        (lamp.id, "Lamp", Decimal("19.99"), 3),
        (desk.id, "Desk", Decimal("100.00"), 2),
    ]
    assert order.total == Decimal("259.97")
    assert await _stock(uow, lamp.id, desk.id) == [2, 1]
    async with uow(read_only=True) as work:
        cart = await work.carts.find_for_user(alice.id)
        assert cart is not None
        assert cart.is_empty
        assert await work.orders.get(alice.id, order.id) == order


async def test_lines_keep_the_name_and_price_as_sold(uow: AsyncUnitOfWorkFactory) -> None:
    alice, lamp = await add_user(uow), await add_product(uow, "Lamp", "19.99", 5)
    await _fill(uow, alice.id, (lamp.id, 1))
    order = await _place(uow, alice.id, "k1")
    async with uow() as work:
        await work.products.update(
            lamp.id, 1, ProductChanges(name="Lamp v2", price=Decimal("5.00"))
        )
        await work.commit()
    async with uow(read_only=True) as work:
        assert await work.orders.get(alice.id, order.id) == order
    assert order.lines[0].product_name == "Lamp"


async def test_the_same_key_again_returns_the_order_and_sells_nothing(
    uow: AsyncUnitOfWorkFactory,
) -> None:
    alice, lamp = await add_user(uow), await add_product(uow, "Lamp", "19.99", 5)
    await _fill(uow, alice.id, (lamp.id, 2))
    first = await _place(uow, alice.id, "same")
    assert await _place(uow, alice.id, "same") == first  # cart empty now
    await _fill(uow, alice.id, (lamp.id, 2))  # the same lines again, e.g. a page reloaded
    assert await _place(uow, alice.id, "same") == first
    assert await _stock(uow, lamp.id) == [3]
    async with uow(read_only=True) as work:
        cart = await work.carts.find_for_user(alice.id)
        assert cart is not None
        assert [(i.product_id, i.quantity) for i in cart.items] == [(lamp.id, 2)]
        assert len((await work.orders.list_for_user(alice.id)).items) == 1


async def _add_desk(uow: AsyncUnitOfWorkFactory, user_id: int, lamp: int, desk: int) -> None:
    await _fill(uow, user_id, (desk, 1))


async def _grow_lamp(uow: AsyncUnitOfWorkFactory, user_id: int, lamp: int, desk: int) -> None:
    await _fill(uow, user_id, (lamp, 3))


async def _reprice_lamp(uow: AsyncUnitOfWorkFactory, user_id: int, lamp: int, desk: int) -> None:
    async with uow() as work:
        await work.products.update(lamp, 1, ProductChanges(price=Decimal("5.00")))
        await work.commit()
    await _fill(uow, user_id, (lamp, 1), (desk, 1))


async def _archive_lamp(uow: AsyncUnitOfWorkFactory, user_id: int, lamp: int, desk: int) -> None:
    await _fill(uow, user_id, (lamp, 1), (desk, 1))
    async with uow() as work:
        await work.products.delete(lamp)
        await work.commit()


@pytest.mark.parametrize(
    "moved", [_add_desk, _grow_lamp, _reprice_lamp, _archive_lamp], ids=lambda f: f.__name__[1:]
)
async def test_a_key_names_the_checkout_made_whatever_the_cart_holds_since(
    uow: AsyncUnitOfWorkFactory, moved: AsyncCallable[[AsyncUnitOfWorkFactory, int, int, int], None]
) -> None:
    """A retry with the key after the world moved (a line added, a quantity, a price, an
    archived product): the key names what already happened, so its order comes back, nothing
    is sold again and the cart keeps what was put in it since."""
    alice = await add_user(uow)
    lamp = await add_product(uow, "Lamp", "19.99", 5)
    desk = await add_product(uow, "Desk", "100.00", 3)
    await _fill(uow, alice.id, (lamp.id, 2))
    first = await _place(uow, alice.id, "k")
    await moved(uow, alice.id, lamp.id, desk.id)
    before = await snapshot(uow)
    assert await _place(uow, alice.id, "k") == first
    assert await snapshot(uow) == before  # the new lines still in the cart, no stock taken
    async with uow(read_only=True) as work:
        assert [o.id for o in (await work.orders.list_for_user(alice.id)).items] == [first.id]
    # A new key sells what the cart holds now.
    async with uow(read_only=True) as work:
        cart = await work.carts.find_for_user(alice.id)
        assert cart is not None
        held = [(i.product_id, i.quantity) for i in cart.items]
    assert held
    assert [(x.product_id, x.quantity) for x in (await _place(uow, alice.id, "k2")).lines] == held


async def test_keys_are_per_user(uow: AsyncUnitOfWorkFactory) -> None:
    alice, bob = await add_user(uow), await add_user(uow, "bob")
    lamp = await add_product(uow, "Lamp", "1", 5)
    await _fill(uow, alice.id, (lamp.id, 1))
    await _fill(uow, bob.id, (lamp.id, 2))
    assert (await _place(uow, alice.id, "k")).user_id == alice.id
    assert (await _place(uow, bob.id, "k")).user_id == bob.id
    assert await _stock(uow, lamp.id) == [2]


async def test_a_short_line_sells_nothing_and_names_the_first_short_product(
    uow: AsyncUnitOfWorkFactory,
) -> None:
    alice = await add_user(uow)
    a, b, c = [await add_product(uow, name, "1.00", 5) for name in ("A", "B", "C")]
    await _fill(uow, alice.id, (a.id, 2), (c.id, 4), (b.id, 3))
    async with uow() as work:  # someone else buys most of B and C meanwhile
        await work.products.reserve(b.id, 4)
        await work.products.reserve(c.id, 4)
        await work.commit()
    before = await snapshot(uow)
    async with uow() as work:
        with pytest.raises(InsufficientInventory) as info:
            await work.orders.place(alice.id, "k")
    assert (info.value.product_id, info.value.requested, info.value.available) == (b.id, 3, 1)
    assert await snapshot(uow) == before
    async with uow(read_only=True) as work:
        assert (await work.orders.list_for_user(alice.id)).items == ()
    # The key was not used up: once restocked, the same key sells.
    async with uow() as work:
        await work.products.restock(b.id, 5)
        await work.products.restock(c.id, 5)
        await work.commit()
    assert len((await _place(uow, alice.id, "k")).lines) == 3


async def test_an_empty_or_missing_cart_is_refused(uow: AsyncUnitOfWorkFactory) -> None:
    alice = await add_user(uow)
    async with uow() as work:
        with pytest.raises(EmptyCart):
            await work.orders.place(alice.id, "k")
    await _fill(uow, alice.id)
    async with uow() as work:
        with pytest.raises(EmptyCart):
            await work.orders.place(alice.id, "k")
    async with uow() as work:
        with pytest.raises(EmptyCart):
            await work.orders.place(404, "k")


@pytest.mark.parametrize("key", ["", "x" * 101, None, 7, b"k", "\x00", "\ud800"])
async def test_bad_keys_are_refused_before_anything_runs(
    uow: AsyncUnitOfWorkFactory, key: object
) -> None:
    alice, lamp = await add_user(uow), await add_product(uow)
    await _fill(uow, alice.id, (lamp.id, 1))
    before = await snapshot(uow)
    async with uow() as work:
        with pytest.raises(InvalidInput):
            await work.orders.place(alice.id, key)  # type: ignore[arg-type]
    assert await snapshot(uow) == before


async def test_an_order_is_only_its_owners(uow: AsyncUnitOfWorkFactory) -> None:
    alice, bob, lamp = await add_user(uow), await add_user(uow, "bob"), await add_product(uow)
    await _fill(uow, alice.id, (lamp.id, 1))
    order = await _place(uow, alice.id, "k")
    async with uow(read_only=True) as work:
        with pytest.raises(OrderNotFound):
            await work.orders.get(bob.id, order.id)
        with pytest.raises(OrderNotFound):
            await work.orders.get(alice.id, order.id + 1)
        with pytest.raises(InvalidInput):
            await work.orders.get(alice.id, True)


async def test_history_is_newest_first_in_keyset_pages(uow: AsyncUnitOfWorkFactory) -> None:
    alice, bob = await add_user(uow), await add_user(uow, "bob")
    lamp = await add_product(uow, inventory=100)
    placed = []
    for n in range(5):
        await _fill(uow, alice.id, (lamp.id, n + 1))
        placed.append(await _place(uow, alice.id, f"k{n}"))
        await _fill(uow, bob.id, (lamp.id, 1))
        await _place(uow, bob.id, f"k{n}")
    pages = []
    async with uow(read_only=True) as work:
        page = await work.orders.list_for_user(alice.id, limit=2)
        pages.append(page.items)
        while page.next_cursor is not None:
            page = await work.orders.list_for_user(alice.id, limit=2, cursor=page.next_cursor)
            pages.append(page.items)
        assert [len(p) for p in pages] == [2, 2, 1]
        assert [o for p in pages for o in p] == placed[::-1]
        exact = await work.orders.list_for_user(alice.id, limit=5)
        assert exact.next_cursor is None
        assert exact.items == tuple(placed[::-1])
        assert (await work.orders.list_for_user(404)).items == ()


@pytest.mark.parametrize("limit", [0, 101, True, 2.0, "3"])
async def test_history_refuses_bad_page_sizes(uow: AsyncUnitOfWorkFactory, limit: object) -> None:
    async with uow(read_only=True) as work:
        with pytest.raises(InvalidInput):
            await work.orders.list_for_user(1, limit=limit)  # type: ignore[arg-type]


@pytest.mark.parametrize("cursor", ["", "x", "b3JkZXI6MA", "b3JkZXI6LTE", "=" * 80, "W1td"])
async def test_history_refuses_cursors_it_did_not_make(
    uow: AsyncUnitOfWorkFactory, cursor: str
) -> None:
    async with uow(read_only=True) as work:
        with pytest.raises(InvalidInput):
            await work.orders.list_for_user(1, cursor=cursor)


async def test_a_failed_place_rolls_the_unit_of_work_back(uow: AsyncUnitOfWorkFactory) -> None:
    alice, lamp = await add_user(uow), await add_product(uow, inventory=1)
    await _fill(uow, alice.id, (lamp.id, 1))
    async with uow() as work:
        await work.products.restock(lamp.id, 1)  # in the same transaction, then lost with it
        await work.products.reserve(lamp.id, 2)
        with pytest.raises(InsufficientInventory):
            await work.orders.place(alice.id, "k")
        with pytest.raises(RollbackRequired, match=r"orders\.place \(InsufficientInventory\)"):
            await work.commit()
    assert await _stock(uow, lamp.id) == [1]


@pytest.mark.usefixtures("short_switch_interval")
async def test_concurrent_places_with_one_key_sell_once(uow: AsyncUnitOfWorkFactory) -> None:
    alice, lamp = await add_user(uow), await add_product(uow, inventory=50)
    await _fill(uow, alice.id, (lamp.id, 3))
    start = Barrier(6)
    results: list[Order] = []

    async def place() -> None:
        await start.wait()
        results.append(await retrying(lambda: _place(uow, alice.id, "one")))

    await run_all([place] * 6)
    assert {order.id for order in results} == {1}
    assert await _stock(uow, lamp.id) == [47]


async def test_the_same_key_returns_its_order_even_once_the_cart_is_sold_out(
    uow: AsyncUnitOfWorkFactory,
) -> None:
    """The key's order is the answer before any stock is looked at: a retry after the page
    was reloaded (the same lines again) must not learn that the product sold out meanwhile."""
    alice, bob = await add_user(uow), await add_user(uow, "bob")
    lamp = await add_product(uow, inventory=3)
    await _fill(uow, alice.id, (lamp.id, 1))
    first = await _place(uow, alice.id, "k")
    await _fill(uow, alice.id, (lamp.id, 1))
    await _fill(uow, bob.id, (lamp.id, 2))
    await _place(uow, bob.id, "b")  # the lamp sells out
    before = await snapshot(uow)
    assert await _place(uow, alice.id, "k") == first
    assert await snapshot(uow) == before
    async with uow() as work:
        with pytest.raises(InsufficientInventory) as info:
            await work.orders.place(alice.id, "k2")
    assert (info.value.product_id, info.value.requested, info.value.available) == (lamp.id, 1, 0)
    assert await snapshot(uow) == before


@pytest.mark.usefixtures("short_switch_interval")
async def test_a_flash_sale_sells_the_stock_once_and_leaves_the_other_carts_whole(
    uow: AsyncUnitOfWorkFactory,
) -> None:
    """Twelve buyers released together for six units of one product, each with a product of
    its own in the cart too: six orders, the others refused with nothing taken."""
    hot = await add_product(uow, "Hot", "5.00", 6)
    buyers = [await add_user(uow, f"buyer{n}") for n in range(12)]
    cold = [await add_product(uow, f"Cold {n}", "1.00", 3) for n in range(12)]
    for buyer, own in zip(buyers, cold, strict=True):
        await _fill(uow, buyer.id, (own.id, 1), (hot.id, 1))
    start = Barrier(len(buyers))
    outcomes: dict[int, Order | InsufficientInventory] = {}

    def shopper(user_id: int) -> AsyncWorker:
        async def buy() -> None:
            await start.wait()
            try:
                outcomes[user_id] = await retrying(lambda: _place(uow, user_id, "k"))
            except InsufficientInventory as refused:
                outcomes[user_id] = refused

        return buy

    await run_all([shopper(b.id) for b in buyers])
    sold = [b for b in buyers if isinstance(outcomes[b.id], Order)]
    refused = [outcomes[b.id] for b in buyers if b not in sold]
    assert len(sold) == 6
    assert all(isinstance(r, InsufficientInventory) and r.product_id == hot.id for r in refused)
    assert await _stock(uow, hot.id) == [0]
    assert await _stock(uow, *(c.id for c in cold)) == [2 if b in sold else 3 for b in buyers]
    async with uow(read_only=True) as work:
        for buyer, own in zip(buyers, cold, strict=True):
            cart = await work.carts.find_for_user(buyer.id)
            assert cart is not None
            held = [(i.product_id, i.quantity) for i in cart.items]
            assert held == ([] if buyer in sold else [(own.id, 1), (hot.id, 1)])
