# Generated from test_orders_async.py (tools/generate_sync.py): edit that instead.
"""Contract of the order repository, held by both adapters: checkout as one order, exactly
once per idempotency key, history kept and paged."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from domain.errors import (
    EmptyCart,
    InsufficientInventory,
    InvalidInput,
    OrderNotFound,
    RollbackRequired,
)
from domain.model import Order, OrderStatus, ProductChanges
from ports.unit_of_work import UnitOfWorkFactory
from services.retry import retrying
from tests.concurrent import Barrier, Worker, run_all
from tests.contract.helpers import add_product, add_user, snapshot


def _fill(uow: UnitOfWorkFactory, user_id: int, *lines: tuple[int, int]) -> None:
    with uow() as work:
        cart = work.carts.get_or_create(user_id)
        for product_id, quantity in lines:
            work.carts.add_item(cart.id, product_id, quantity)
        work.commit()


def _place(uow: UnitOfWorkFactory, user_id: int, key: str) -> Order:
    with uow() as work:
        order = work.orders.place(user_id, key)
        work.commit()
    return order


def _stock(uow: UnitOfWorkFactory, *product_ids: int) -> list[int]:
    with uow(read_only=True) as work:
        return [work.products.get(p).inventory_count for p in product_ids]


def test_place_records_the_sale_reserves_and_empties_the_cart(
    uow: UnitOfWorkFactory,
) -> None:
    alice = add_user(uow)
    lamp = add_product(uow, "Lamp", "19.99", 5)
    desk = add_product(uow, "Desk", "100.00", 3)
    _fill(uow, alice.id, (desk.id, 2), (lamp.id, 3))
    order = _place(uow, alice.id, "k1")
    assert (order.id, order.user_id, order.status) == (1, alice.id, OrderStatus.PLACED)
    assert [(x.product_id, x.product_name, x.unit_price, x.quantity) for x in order.lines] == [
        (lamp.id, "Lamp", Decimal("19.99"), 3),
        (desk.id, "Desk", Decimal("100.00"), 2),
    ]
    assert order.total == Decimal("259.97")
    assert _stock(uow, lamp.id, desk.id) == [2, 1]
    with uow(read_only=True) as work:
        cart = work.carts.find_for_user(alice.id)
        assert cart is not None
        assert cart.is_empty
        assert work.orders.get(alice.id, order.id) == order


def test_lines_keep_the_name_and_price_as_sold(uow: UnitOfWorkFactory) -> None:
    alice, lamp = add_user(uow), add_product(uow, "Lamp", "19.99", 5)
    _fill(uow, alice.id, (lamp.id, 1))
    order = _place(uow, alice.id, "k1")
    with uow() as work:
        work.products.update(lamp.id, 1, ProductChanges(name="Lamp v2", price=Decimal("5.00")))
        work.commit()
    with uow(read_only=True) as work:
        assert work.orders.get(alice.id, order.id) == order
    assert order.lines[0].product_name == "Lamp"


def test_the_same_key_again_returns_the_order_and_sells_nothing(
    uow: UnitOfWorkFactory,
) -> None:
    alice, lamp = add_user(uow), add_product(uow, "Lamp", "19.99", 5)
    _fill(uow, alice.id, (lamp.id, 2))
    first = _place(uow, alice.id, "same")
    assert _place(uow, alice.id, "same") == first  # cart empty now
    _fill(uow, alice.id, (lamp.id, 2))  # the same lines again, e.g. a page reloaded
    assert _place(uow, alice.id, "same") == first
    assert _stock(uow, lamp.id) == [3]
    with uow(read_only=True) as work:
        cart = work.carts.find_for_user(alice.id)
        assert cart is not None
        assert [(i.product_id, i.quantity) for i in cart.items] == [(lamp.id, 2)]
        assert len(work.orders.list_for_user(alice.id).items) == 1


def _add_desk(uow: UnitOfWorkFactory, user_id: int, lamp: int, desk: int) -> None:
    _fill(uow, user_id, (desk, 1))


def _grow_lamp(uow: UnitOfWorkFactory, user_id: int, lamp: int, desk: int) -> None:
    _fill(uow, user_id, (lamp, 3))


def _reprice_lamp(uow: UnitOfWorkFactory, user_id: int, lamp: int, desk: int) -> None:
    with uow() as work:
        work.products.update(lamp, 1, ProductChanges(price=Decimal("5.00")))
        work.commit()
    _fill(uow, user_id, (lamp, 1), (desk, 1))


def _archive_lamp(uow: UnitOfWorkFactory, user_id: int, lamp: int, desk: int) -> None:
    _fill(uow, user_id, (lamp, 1), (desk, 1))
    with uow() as work:
        work.products.delete(lamp)
        work.commit()


@pytest.mark.parametrize(
    "moved", [_add_desk, _grow_lamp, _reprice_lamp, _archive_lamp], ids=lambda f: f.__name__[1:]
)
def test_a_key_names_the_checkout_made_whatever_the_cart_holds_since(
    uow: UnitOfWorkFactory, moved: Callable[[UnitOfWorkFactory, int, int, int], None]
) -> None:
    """A retry with the key after the world moved (a line added, a quantity, a price, an
    archived product): the key names what already happened, so its order comes back, nothing
    is sold again and the cart keeps what was put in it since."""
    alice = add_user(uow)
    lamp = add_product(uow, "Lamp", "19.99", 5)
    desk = add_product(uow, "Desk", "100.00", 3)
    _fill(uow, alice.id, (lamp.id, 2))
    first = _place(uow, alice.id, "k")
    moved(uow, alice.id, lamp.id, desk.id)
    before = snapshot(uow)
    assert _place(uow, alice.id, "k") == first
    assert snapshot(uow) == before  # the new lines still in the cart, no stock taken
    with uow(read_only=True) as work:
        assert [o.id for o in work.orders.list_for_user(alice.id).items] == [first.id]
    # A new key sells what the cart holds now.
    with uow(read_only=True) as work:
        cart = work.carts.find_for_user(alice.id)
        assert cart is not None
        held = [(i.product_id, i.quantity) for i in cart.items]
    assert held
    assert [(x.product_id, x.quantity) for x in _place(uow, alice.id, "k2").lines] == held


def test_keys_are_per_user(uow: UnitOfWorkFactory) -> None:
    alice, bob = add_user(uow), add_user(uow, "bob")
    lamp = add_product(uow, "Lamp", "1", 5)
    _fill(uow, alice.id, (lamp.id, 1))
    _fill(uow, bob.id, (lamp.id, 2))
    assert _place(uow, alice.id, "k").user_id == alice.id
    assert _place(uow, bob.id, "k").user_id == bob.id
    assert _stock(uow, lamp.id) == [2]


def test_a_short_line_sells_nothing_and_names_the_first_short_product(
    uow: UnitOfWorkFactory,
) -> None:
    alice = add_user(uow)
    a, b, c = [add_product(uow, name, "1.00", 5) for name in ("A", "B", "C")]
    _fill(uow, alice.id, (a.id, 2), (c.id, 4), (b.id, 3))
    with uow() as work:  # someone else buys most of B and C meanwhile
        work.products.reserve(b.id, 4)
        work.products.reserve(c.id, 4)
        work.commit()
    before = snapshot(uow)
    with uow() as work, pytest.raises(InsufficientInventory) as info:
        work.orders.place(alice.id, "k")
    assert (info.value.product_id, info.value.requested, info.value.available) == (b.id, 3, 1)
    assert snapshot(uow) == before
    with uow(read_only=True) as work:
        assert work.orders.list_for_user(alice.id).items == ()
    # The key was not used up: once restocked, the same key sells.
    with uow() as work:
        work.products.restock(b.id, 5)
        work.products.restock(c.id, 5)
        work.commit()
    assert len(_place(uow, alice.id, "k").lines) == 3


def test_an_empty_or_missing_cart_is_refused(uow: UnitOfWorkFactory) -> None:
    alice = add_user(uow)
    with uow() as work, pytest.raises(EmptyCart):
        work.orders.place(alice.id, "k")
    _fill(uow, alice.id)
    with uow() as work, pytest.raises(EmptyCart):
        work.orders.place(alice.id, "k")
    with uow() as work, pytest.raises(EmptyCart):
        work.orders.place(404, "k")


@pytest.mark.parametrize("key", ["", "x" * 101, None, 7, b"k", "\x00", "\ud800"])
def test_bad_keys_are_refused_before_anything_runs(uow: UnitOfWorkFactory, key: object) -> None:
    alice, lamp = add_user(uow), add_product(uow)
    _fill(uow, alice.id, (lamp.id, 1))
    before = snapshot(uow)
    with uow() as work, pytest.raises(InvalidInput):
        work.orders.place(alice.id, key)  # type: ignore[arg-type]
    assert snapshot(uow) == before


def test_an_order_is_only_its_owners(uow: UnitOfWorkFactory) -> None:
    alice, bob, lamp = add_user(uow), add_user(uow, "bob"), add_product(uow)
    _fill(uow, alice.id, (lamp.id, 1))
    order = _place(uow, alice.id, "k")
    with uow(read_only=True) as work:
        with pytest.raises(OrderNotFound):
            work.orders.get(bob.id, order.id)
        with pytest.raises(OrderNotFound):
            work.orders.get(alice.id, order.id + 1)
        with pytest.raises(InvalidInput):
            work.orders.get(alice.id, True)


def test_history_is_newest_first_in_keyset_pages(uow: UnitOfWorkFactory) -> None:
    alice, bob = add_user(uow), add_user(uow, "bob")
    lamp = add_product(uow, inventory=100)
    placed = []
    for n in range(5):
        _fill(uow, alice.id, (lamp.id, n + 1))
        placed.append(_place(uow, alice.id, f"k{n}"))
        _fill(uow, bob.id, (lamp.id, 1))
        _place(uow, bob.id, f"k{n}")
    pages = []
    with uow(read_only=True) as work:
        page = work.orders.list_for_user(alice.id, limit=2)
        pages.append(page.items)
        while page.next_cursor is not None:
            page = work.orders.list_for_user(alice.id, limit=2, cursor=page.next_cursor)
            pages.append(page.items)
        assert [len(p) for p in pages] == [2, 2, 1]
        assert [o for p in pages for o in p] == placed[::-1]
        exact = work.orders.list_for_user(alice.id, limit=5)
        assert exact.next_cursor is None
        assert exact.items == tuple(placed[::-1])
        assert work.orders.list_for_user(404).items == ()


@pytest.mark.parametrize("limit", [0, 101, True, 2.0, "3"])
def test_history_refuses_bad_page_sizes(uow: UnitOfWorkFactory, limit: object) -> None:
    with uow(read_only=True) as work, pytest.raises(InvalidInput):
        work.orders.list_for_user(1, limit=limit)  # type: ignore[arg-type]


@pytest.mark.parametrize("cursor", ["", "x", "b3JkZXI6MA", "b3JkZXI6LTE", "=" * 80, "W1td"])
def test_history_refuses_cursors_it_did_not_make(uow: UnitOfWorkFactory, cursor: str) -> None:
    with uow(read_only=True) as work, pytest.raises(InvalidInput):
        work.orders.list_for_user(1, cursor=cursor)


def test_a_failed_place_rolls_the_unit_of_work_back(uow: UnitOfWorkFactory) -> None:
    alice, lamp = add_user(uow), add_product(uow, inventory=1)
    _fill(uow, alice.id, (lamp.id, 1))
    with uow() as work:
        work.products.restock(lamp.id, 1)  # in the same transaction, then lost with it
        work.products.reserve(lamp.id, 2)
        with pytest.raises(InsufficientInventory):
            work.orders.place(alice.id, "k")
        with pytest.raises(RollbackRequired, match=r"orders\.place \(InsufficientInventory\)"):
            work.commit()
    assert _stock(uow, lamp.id) == [1]


@pytest.mark.usefixtures("short_switch_interval")
def test_concurrent_places_with_one_key_sell_once(uow: UnitOfWorkFactory) -> None:
    alice, lamp = add_user(uow), add_product(uow, inventory=50)
    _fill(uow, alice.id, (lamp.id, 3))
    start = Barrier(6)
    results: list[Order] = []

    def place() -> None:
        start.wait()
        results.append(retrying(lambda: _place(uow, alice.id, "one")))

    run_all([place] * 6)
    assert {order.id for order in results} == {1}
    assert _stock(uow, lamp.id) == [47]


def test_the_same_key_returns_its_order_even_once_the_cart_is_sold_out(
    uow: UnitOfWorkFactory,
) -> None:
    """The key's order is the answer before any stock is looked at: a retry after the page
    was reloaded (the same lines again) must not learn that the product sold out meanwhile."""
    alice, bob = add_user(uow), add_user(uow, "bob")
    lamp = add_product(uow, inventory=3)
    _fill(uow, alice.id, (lamp.id, 1))
    first = _place(uow, alice.id, "k")
    _fill(uow, alice.id, (lamp.id, 1))
    _fill(uow, bob.id, (lamp.id, 2))
    _place(uow, bob.id, "b")  # the lamp sells out
    before = snapshot(uow)
    assert _place(uow, alice.id, "k") == first
    assert snapshot(uow) == before
    with uow() as work, pytest.raises(InsufficientInventory) as info:
        work.orders.place(alice.id, "k2")
    assert (info.value.product_id, info.value.requested, info.value.available) == (lamp.id, 1, 0)
    assert snapshot(uow) == before


@pytest.mark.usefixtures("short_switch_interval")
def test_a_flash_sale_sells_the_stock_once_and_leaves_the_other_carts_whole(
    uow: UnitOfWorkFactory,
) -> None:
    """Twelve buyers released together for six units of one product, each with a product of
    its own in the cart too: six orders, the others refused with nothing taken."""
    hot = add_product(uow, "Hot", "5.00", 6)
    buyers = [add_user(uow, f"buyer{n}") for n in range(12)]
    cold = [add_product(uow, f"Cold {n}", "1.00", 3) for n in range(12)]
    for buyer, own in zip(buyers, cold, strict=True):
        _fill(uow, buyer.id, (own.id, 1), (hot.id, 1))
    start = Barrier(len(buyers))
    outcomes: dict[int, Order | InsufficientInventory] = {}

    def shopper(user_id: int) -> Worker:
        def buy() -> None:
            start.wait()
            try:
                outcomes[user_id] = retrying(lambda: _place(uow, user_id, "k"))
            except InsufficientInventory as refused:
                outcomes[user_id] = refused

        return buy

    run_all([shopper(b.id) for b in buyers])
    sold = [b for b in buyers if isinstance(outcomes[b.id], Order)]
    refused = [outcomes[b.id] for b in buyers if b not in sold]
    assert len(sold) == 6
    assert all(isinstance(r, InsufficientInventory) and r.product_id == hot.id for r in refused)
    assert _stock(uow, hot.id) == [0]
    assert _stock(uow, *(c.id for c in cold)) == [2 if b in sold else 3 for b in buyers]
    with uow(read_only=True) as work:
        for buyer, own in zip(buyers, cold, strict=True):
            cart = work.carts.find_for_user(buyer.id)
            assert cart is not None
            held = [(i.product_id, i.quantity) for i in cart.items]
            assert held == ([] if buyer in sold else [(own.id, 1), (hot.id, 1)])
