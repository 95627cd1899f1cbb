# Generated from test_archive_async.py (tools/generate_sync.py): edit that instead.
"""Deleting archives: the row leaves every read, cart and login, and the orders stay as sold.
Held by both adapters."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from domain.errors import (
    AuthenticationFailed,
    ProductNotFound,
    UserNotFound,
)
from domain.model import NewProduct, NewUser, Order, ProductChanges
from domain.search import ProductQuery, ProductSort
from ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from services.accounts import AccountService
from services.carts import CartService
from services.catalog import CatalogService
from services.orders import OrderService
from shopdb.testing import InsecureTestHasher
from tests.contract.helpers import add_product, add_user

HASHER = InsecureTestHasher()


def _order(uow: UnitOfWorkFactory, user_id: int, *lines: tuple[int, int]) -> Order:
    with uow() as work:
        for product_id, quantity in lines:
            work.carts.add_for_user(user_id, product_id, quantity)
        order = work.orders.place(user_id, f"key-{lines}")
        work.commit()
    return order


def _archive_product(uow: UnitOfWorkFactory, product_id: int) -> None:
    with uow() as work:
        work.products.delete(product_id)
        work.commit()


def _archive_user(uow: UnitOfWorkFactory, user_id: int) -> None:
    with uow() as work:
        work.users.delete(user_id)
        work.commit()


def _every_search(uow: UnitOfWorkFactory, **filters: object) -> dict[ProductSort, list[int]]:
    """Every product id each sort order lists, page by page (2 a page)."""
    found: dict[ProductSort, list[int]] = {}
    with uow(read_only=True) as work:
        for sort in ProductSort:
            ids: list[int] = []
            cursor = None
            while True:
                page = work.products.search(
                    ProductQuery(sort=sort, limit=2, cursor=cursor, **filters)
                )
                ids += [p.id for p in page.items]
                cursor = page.next_cursor
                if cursor is None:
                    break
            found[sort] = sorted(ids)
    return found


SEARCHES = [
    {},
    {"text": "lamp"},
    {"text": "LAMP"},
    {"text": "la"},  # no trigram: the other form of the text filter
    {"min_price": Decimal("5.00")},
    {"max_price": Decimal("50.00")},
    {"in_stock_only": True},
    {"text": "lamp", "min_price": Decimal("1.00"), "max_price": Decimal("99.00")},
    {"text": "lamp", "in_stock_only": True},
]


@pytest.mark.parametrize("filters", SEARCHES, ids=lambda f: ",".join(map(str, f)) or "none")
def test_an_archived_product_leaves_every_search(
    uow: UnitOfWorkFactory, filters: dict[str, object]
) -> None:
    lamps = [add_product(uow, f"Lamp {n}", f"{10 + n}.00", inventory=n % 3 + 1) for n in range(7)]
    everything = _every_search(uow, **filters)
    assert everything[ProductSort.NAME] == [p.id for p in lamps]
    gone = {lamps[0].id, lamps[3].id, lamps[6].id}  # first, middle, last in every order
    for product_id in gone:
        _archive_product(uow, product_id)
    left = [p.id for p in lamps if p.id not in gone]
    assert _every_search(uow, **filters) == dict.fromkeys(ProductSort, left)


def test_an_archived_product_is_gone_from_reads_and_writes(
    uow: UnitOfWorkFactory,
) -> None:
    lamp, desk = add_product(uow, "Lamp"), add_product(uow, "Desk")
    _archive_product(uow, lamp.id)
    with uow() as work:
        with pytest.raises(ProductNotFound):
            work.products.get(lamp.id)
        assert work.products.get_many([lamp.id, desk.id]) == {desk.id: desk}
    changes: list[Callable[[UnitOfWork], object]] = [
        lambda w: w.products.update(lamp.id, lamp.version, ProductChanges(name="Lamp 2")),
        lambda w: w.products.restock(lamp.id, 1),
        lambda w: w.products.reserve(lamp.id, 1),
        lambda w: w.products.delete(lamp.id),
    ]
    for change in changes:
        with uow() as work, pytest.raises(ProductNotFound):
            change(work)
    with uow(read_only=True) as work:
        assert work.products.get_many([lamp.id, desk.id]) == {desk.id: desk}


def test_archiving_a_product_empties_it_from_every_cart(uow: UnitOfWorkFactory) -> None:
    alice, bob = add_user(uow, "alice"), add_user(uow, "bob")
    lamp, desk = add_product(uow, "Lamp"), add_product(uow, "Desk")
    with uow() as work:
        for user in (alice, bob):
            work.carts.add_for_user(user.id, lamp.id, 2)
        work.carts.add_for_user(alice.id, desk.id, 1)
        work.commit()
    _archive_product(uow, lamp.id)
    with uow() as work:
        carts = [work.carts.find_for_user(user.id) for user in (alice, bob)]
        assert [[i.product_id for i in c.items] for c in carts if c] == [[desk.id], []]
        cart = work.carts.get_or_create(alice.id)
        assert [i.product_id for i in cart.items] == [desk.id]
        with pytest.raises(ProductNotFound):
            work.carts.add_for_user(bob.id, lamp.id, 1)
    with uow() as work, pytest.raises(ProductNotFound):
        work.carts.add_item(cart.id, lamp.id, 1)
    with uow() as work:
        order = work.orders.place(alice.id, "k")  # sells what is left, never the lamp
        work.commit()
    assert [line.product_id for line in order.lines] == [desk.id]


def test_orders_keep_an_archived_product_as_sold(uow: UnitOfWorkFactory) -> None:
    alice = add_user(uow)
    lamp, desk = add_product(uow, "Lamp", "19.99"), add_product(uow, "Desk", "100.00")
    first = _order(uow, alice.id, (lamp.id, 2), (desk.id, 1))
    with uow() as work:
        work.products.update(lamp.id, lamp.version, ProductChanges(name="Old lamp"))
        work.commit()
    second = _order(uow, alice.id, (lamp.id, 1))
    _archive_product(uow, lamp.id)
    _archive_product(uow, desk.id)  # archived whether or not it was sold: the same
    with uow(read_only=True) as work:
        assert work.orders.get(alice.id, first.id) == first
        assert work.orders.get(alice.id, second.id) == second
        assert work.orders.list_for_user(alice.id).items == (second, first)
    sold = [(x.product_id, x.product_name, x.unit_price, x.quantity) for x in first.lines]
    assert sold == [(lamp.id, "Lamp", Decimal("19.99"), 2), (desk.id, "Desk", Decimal("100.00"), 1)]
    assert second.lines[0].product_name == "Old lamp"


def test_an_archived_user_cannot_be_found_or_changed(uow: UnitOfWorkFactory) -> None:
    alice, bob = add_user(uow, "alice"), add_user(uow, "bob")
    lamp = add_product(uow)
    with uow() as work:
        work.carts.add_for_user(alice.id, lamp.id, 1)
        work.commit()
    _archive_user(uow, alice.id)
    with uow() as work:
        reads: list[Callable[[], object]] = [
            lambda: work.users.get(alice.id),
            lambda: work.users.get_by_username("alice"),
            lambda: work.users.get_by_email("ALICE@example.com"),
        ]
        for read in reads:
            with pytest.raises(UserNotFound):
                read()
        assert work.carts.find_for_user(alice.id) is None
        assert work.users.get(bob.id) == bob
    changes: list[Callable[[UnitOfWork], object]] = [
        lambda w: w.users.change_email(alice.id, "new@example.com"),
        lambda w: w.users.delete(alice.id),
        lambda w: w.carts.get_or_create(alice.id),
        lambda w: w.carts.add_for_user(alice.id, lamp.id, 1),
        lambda w: w.carts.set_quantity_for_user(alice.id, lamp.id, 1),
        lambda w: w.carts.remove_for_user(alice.id, lamp.id),
    ]
    for change in changes:
        with uow() as work, pytest.raises(UserNotFound):
            change(work)
    with uow(read_only=True) as work:
        assert work.carts.find_for_user(alice.id) is None


def test_an_archived_users_orders_stay(uow: UnitOfWorkFactory) -> None:
    alice, lamp = add_user(uow), add_product(uow, inventory=5)
    order = _order(uow, alice.id, (lamp.id, 2))
    _archive_user(uow, alice.id)
    orders = OrderService(uow)
    assert orders.get_order(alice.id, order.id) == order
    assert orders.order_history(alice.id).items == (order,)
    with uow(read_only=True) as work:
        assert work.products.get(lamp.id).inventory_count == 3  # nothing given back


def test_an_archived_users_name_and_email_can_be_registered_again(
    uow: UnitOfWorkFactory,
) -> None:
    alice, lamp = add_user(uow, "alice"), add_product(uow)
    order = _order(uow, alice.id, (lamp.id, 1))
    _archive_user(uow, alice.id)
    with uow() as work:
        again = work.users.add(
            NewUser(username="ALICE", email="Alice@Example.com", password_hash="$argon2id$2")
        )
        work.commit()
    assert again.id != alice.id
    with uow(read_only=True) as work:
        assert work.users.get_by_username("alice") == again
        assert work.users.get_by_email("alice@example.com") == again
        assert work.orders.list_for_user(again.id).items == ()
        assert work.orders.list_for_user(alice.id).items == (order,)
    _archive_user(uow, again.id)  # archived twice over: neither blocks a third
    add_user(uow, "alice")


def test_an_archived_user_cannot_log_in(uow: UnitOfWorkFactory) -> None:
    accounts = AccountService(uow, HASHER)
    alice = accounts.register("alice", "alice@example.com", "a long password")
    assert accounts.authenticate("alice", "a long password") == alice
    accounts.delete_user(alice.id)
    for login in ("alice", "alice@example.com"):
        with pytest.raises(AuthenticationFailed):
            accounts.authenticate(login, "a long password")
    with pytest.raises(UserNotFound):
        accounts.delete_user(alice.id)


def test_the_services_archive(uow: UnitOfWorkFactory) -> None:
    catalog, carts = CatalogService(uow), CartService(uow)
    accounts = AccountService(uow, HASHER)
    alice = accounts.register("alice", "alice@example.com", "a long password")
    lamp = catalog.create_product("Lamp", "19.99", inventory_count=3)
    carts.add_to_cart(alice.id, lamp.id, 1)
    catalog.delete_product(lamp.id)
    with pytest.raises(ProductNotFound):
        catalog.get_product(lamp.id)
    with pytest.raises(ProductNotFound):
        catalog.delete_product(lamp.id)
    assert catalog.search("lamp").items == ()
    with pytest.raises(ProductNotFound):
        carts.add_to_cart(alice.id, lamp.id, 1)
    cart = carts.view_cart(alice.id)
    assert cart is not None
    assert cart.items == ()


def test_an_archived_internationalized_email_is_free_in_any_case(
    uow: UnitOfWorkFactory,
) -> None:
    accounts = AccountService(uow, HASHER)
    emil = accounts.register("emil", "emil@bücher.de", "a long password")
    accounts.delete_user(emil.id)
    with uow(read_only=True) as work, pytest.raises(UserNotFound):
        work.users.get_by_email("EMIL@BÜCHER.de")
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate("emil@xn--bcher-kva.de", "a long password")
    again = accounts.register("Emil", "Emil@Bücher.DE", "another password")
    assert again.email == "Emil@xn--bcher-kva.de"
    assert accounts.authenticate("emil@bücher.de", "another password") == again


def test_archived_products_are_skipped_both_near_and_past_the_search_walk(
    uow: UnitOfWorkFactory,
) -> None:
    """PostgreSQL walks a bounded stretch of the sort order first (300 rows for a page of 2,
    3,000 by name), then asks the trigram index for the rest: matches on both sides of that
    stretch, archived ones among them, come out the same on both adapters."""
    early = [NewProduct(name=f"Aardvark lamp {n}", price=Decimal("1.00")) for n in range(4)]
    filler = [NewProduct(name=f"Filler {n:05}", price=Decimal("5.00")) for n in range(3_100)]
    late = [NewProduct(name=f"Zebra lamp {n}", price=Decimal("9.00")) for n in range(4)]
    with uow() as work:
        work.products.add_many([*early, *filler, *late])
        work.commit()
    lamps = [*range(1, 5), *range(3_105, 3_109)]
    archived = lamps[::2]
    for product_id in archived:
        _archive_product(uow, product_id)
    live = sorted(set(lamps) - set(archived))
    assert _every_search(uow, text="lamp") == dict.fromkeys(ProductSort, live)
    assert _every_search(uow, text="lamp", in_stock_only=False, max_price=Decimal("9.00")) == (
        dict.fromkeys(ProductSort, live)
    )
