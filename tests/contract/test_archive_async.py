"""Deleting archives: the row leaves every read, cart and login, and the orders stay as sold.
Held by both adapters."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import ParamSpec, TypeAlias, TypeVar

import pytest

from domain.errors import (
    AuthenticationFailed,
    ProductNotFound,
    UserNotFound,
)
from domain.model import NewProduct, NewUser, Order, ProductChanges
from domain.search import ProductQuery, ProductSort
from ports.unit_of_work_async import AsyncUnitOfWork, AsyncUnitOfWorkFactory
from services.accounts_async import AsyncAccountService
from services.carts_async import AsyncCartService
from services.catalog_async import AsyncCatalogService
from services.orders_async import AsyncOrderService
from shopdb.testing import InsecureTestHasher
from tests.contract.helpers_async import add_product, add_user

if True:  # ASYNC
    P = ParamSpec("P")
    T = TypeVar("T")
    # A function whose result is awaited: the sync module's `Callable`.
    AsyncCallable: TypeAlias = Callable[P, Awaitable[T]]

HASHER = InsecureTestHasher()


async def _order(uow: AsyncUnitOfWorkFactory, user_id: int, *lines: tuple[int, int]) -> Order:
    async with uow() as work:
        for product_id, quantity in lines:
            await work.carts.add_for_user(user_id, product_id, quantity)
        order = await work.orders.place(user_id, f"key-{lines}")
        await work.commit()
    return order


async def _archive_product(uow: AsyncUnitOfWorkFactory, product_id: int) -> None:
    async with uow() as work:
        await work.products.delete(product_id)
        await work.commit()


async def _archive_user(uow: AsyncUnitOfWorkFactory, user_id: int) -> None:
    async with uow() as work:
        await work.users.delete(user_id)
        await work.commit()


async def _every_search(
    uow: AsyncUnitOfWorkFactory, **filters: object
) -> dict[ProductSort, list[int]]:
    """Every product id each sort order lists, page by page (2 a page)."""
    found: dict[ProductSort, list[int]] = {}
    async with uow(read_only=True) as work:
        for sort in ProductSort:
            ids: list[int] = []
            cursor = None
            while True:
                page = await work.products.search(
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
async def test_an_archived_product_leaves_every_search(
    uow: AsyncUnitOfWorkFactory, filters: dict[str, object]
) -> None:
    lamps = [
        await add_product(uow, f"Lamp {n}", f"{10 + n}.00", inventory=n % 3 + 1) for n in range(7)
    ]
    everything = await _every_search(uow, **filters)
    assert everything[ProductSort.NAME] == [p.id for p in lamps]
    gone = {lamps[0].id, lamps[3].id, lamps[6].id}  # first, middle, last in every order
    for product_id in gone:
        await _archive_product(uow, product_id)
    left = [p.id for p in lamps if p.id not in gone]
    assert await _every_search(uow, **filters) == dict.fromkeys(ProductSort, left)


async def test_an_archived_product_is_gone_from_reads_and_writes(
    uow: AsyncUnitOfWorkFactory,
) -> None:
    lamp, desk = await add_product(uow, "Lamp"), await add_product(uow, "Desk")
    await _archive_product(uow, lamp.id)
    async with uow() as work:
        with pytest.raises(ProductNotFound):
            await work.products.get(lamp.id)
        assert await work.products.get_many([lamp.id, desk.id]) == {desk.id: desk}
    changes: list[AsyncCallable[[AsyncUnitOfWork], object]] = [
        lambda w: w.products.update(lamp.id, lamp.version, ProductChanges(name="Lamp 2")),
        lambda w: w.products.restock(lamp.id, 1),
        lambda w: w.products.reserve(lamp.id, 1),
        lambda w: w.products.delete(lamp.id),
    ]
    for change in changes:
        async with uow() as work:
            with pytest.raises(ProductNotFound):
                await change(work)
    async with uow(read_only=True) as work:
        assert await work.products.get_many([lamp.id, desk.id]) == {desk.id: desk}


async def test_archiving_a_product_empties_it_from_every_cart(uow: AsyncUnitOfWorkFactory) -> None:
    alice, bob = await add_user(uow, "alice"), await add_user(uow, "bob")
    lamp, desk = await add_product(uow, "Lamp"), await add_product(uow, "Desk")
    async with uow() as work:
        for user in (alice, bob):
            await work.carts.add_for_user(user.id, lamp.id, 2)
        await work.carts.add_for_user(alice.id, desk.id, 1)
        await work.commit()
    await _archive_product(uow, lamp.id)
    async with uow() as work:
        carts = [await work.carts.find_for_user(user.id) for user in (alice, bob)]
        assert [[i.product_id for i in c.items] for c in carts if c] == [[desk.id], []]
        cart = await work.carts.get_or_create(alice.id)
        assert [i.product_id for i in cart.items] == [desk.id]
        with pytest.raises(ProductNotFound):
            await work.carts.add_for_user(bob.id, lamp.id, 1)
    async with uow() as work:
        with pytest.raises(ProductNotFound):
            await work.carts.add_item(cart.id, lamp.id, 1)
    async with uow() as work:
        order = await work.orders.place(alice.id, "k")  # sells what is left, never the lamp
        await work.commit()
    assert [line.product_id for line in order.lines] == [desk.id]


async def test_orders_keep_an_archived_product_as_sold(uow: AsyncUnitOfWorkFactory) -> None:
    alice = await add_user(uow)
    lamp, desk = await add_product(uow, "Lamp", "19.99"), await add_product(uow, "Desk", "100.00")
    first = await _order(uow, alice.id, (lamp.id, 2), (desk.id, 1))
    async with uow() as work:
        await work.products.update(lamp.id, lamp.version, ProductChanges(name="Old lamp"))
        await work.commit()
    second = await _order(uow, alice.id, (lamp.id, 1))
    await _archive_product(uow, lamp.id)
    await _archive_product(uow, desk.id)  # archived whether or not it was sold: the same
    async with uow(read_only=True) as work:
        assert await work.orders.get(alice.id, first.id) == first
        assert await work.orders.get(alice.id, second.id) == second
        assert (await work.orders.list_for_user(alice.id)).items == (second, first)
    sold = [(x.product_id, x.product_name, x.unit_price, x.quantity) for x in first.lines]
    assert sold == [(lamp.id, "Lamp", Decimal("19.99"), 2), (desk.id, "Desk", Decimal("100.00"), 1)]
    assert second.lines[0].product_name == "Old lamp"


async def test_an_archived_user_cannot_be_found_or_changed(uow: AsyncUnitOfWorkFactory) -> None:
    alice, bob = await add_user(uow, "alice"), await add_user(uow, "bob")
    lamp = await add_product(uow)
    async with uow() as work:
        await work.carts.add_for_user(alice.id, lamp.id, 1)
        await work.commit()
    await _archive_user(uow, alice.id)
    async with uow() as work:
        reads: list[AsyncCallable[[], object]] = [
            lambda: work.users.get(alice.id),
            lambda: work.users.get_by_username("alice"),
            lambda: work.users.get_by_email("ALICE@example.com"),
        ]
        for read in reads:
            with pytest.raises(UserNotFound):
                await read()
        assert await work.carts.find_for_user(alice.id) is None
        assert await work.users.get(bob.id) == bob
    changes: list[AsyncCallable[[AsyncUnitOfWork], object]] = [
        lambda w: w.users.change_email(alice.id, "new@example.com"),
        lambda w: w.users.delete(alice.id),
        lambda w: w.carts.get_or_create(alice.id),
        lambda w: w.carts.add_for_user(alice.id, lamp.id, 1),
        lambda w: w.carts.set_quantity_for_user(alice.id, lamp.id, 1),
        lambda w: w.carts.remove_for_user(alice.id, lamp.id),
    ]
    for change in changes:
        async with uow() as work:
            with pytest.raises(UserNotFound):
                await change(work)
    async with uow(read_only=True) as work:
        assert await work.carts.find_for_user(alice.id) is None


async def test_an_archived_users_orders_stay(uow: AsyncUnitOfWorkFactory) -> None:
    alice, lamp = await add_user(uow), await add_product(uow, inventory=5)
    order = await _order(uow, alice.id, (lamp.id, 2))
    await _archive_user(uow, alice.id)
    orders = AsyncOrderService(uow)
    assert await orders.get_order(alice.id, order.id) == order
    assert (await orders.order_history(alice.id)).items == (order,)
    async with uow(read_only=True) as work:
        assert (await work.products.get(lamp.id)).inventory_count == 3  # nothing given back


async def test_an_archived_users_name_and_email_can_be_registered_again(
    uow: AsyncUnitOfWorkFactory,
) -> None:
    alice, lamp = await add_user(uow, "alice"), await add_product(uow)
    order = await _order(uow, alice.id, (lamp.id, 1))
    await _archive_user(uow, alice.id)
    async with uow() as work:
        again = await work.users.add(
            NewUser(username="ALICE", email="Alice@Example.com", password_hash="$argon2id$2")
        )
        await work.commit()
    assert again.id != alice.id
    async with uow(read_only=True) as work:
        assert await work.users.get_by_username("alice") == again
        assert await work.users.get_by_email("alice@example.com") == again
        assert (await work.orders.list_for_user(again.id)).items == ()
        assert (await work.orders.list_for_user(alice.id)).items == (order,)
    await _archive_user(uow, again.id)  # archived twice over: neither blocks a third
    await add_user(uow, "alice")


async def test_an_archived_user_cannot_log_in(uow: AsyncUnitOfWorkFactory) -> None:
    accounts = AsyncAccountService(uow, HASHER)
    alice = await accounts.register("alice", "alice@example.com", "a long password")
    assert await accounts.authenticate("alice", "a long password") == alice
    await accounts.delete_user(alice.id)
    for login in ("alice", "alice@example.com"):
        with pytest.raises(AuthenticationFailed):
            await accounts.authenticate(login, "a long password")
    with pytest.raises(UserNotFound):
        await accounts.delete_user(alice.id)


async def test_the_services_archive(uow: AsyncUnitOfWorkFactory) -> None:
    catalog, carts = AsyncCatalogService(uow), AsyncCartService(uow)
    accounts = AsyncAccountService(uow, HASHER)
    alice = await accounts.register("alice", "alice@example.com", "a long password")
    lamp = await catalog.create_product("Lamp", "19.99", inventory_count=3)
    await carts.add_to_cart(alice.id, lamp.id, 1)
    await catalog.delete_product(lamp.id)
    with pytest.raises(ProductNotFound):
        await catalog.get_product(lamp.id)
    with pytest.raises(ProductNotFound):
        await catalog.delete_product(lamp.id)
    assert (await catalog.search("lamp")).items == ()
    with pytest.raises(ProductNotFound):
        await carts.add_to_cart(alice.id, lamp.id, 1)
    cart = await carts.view_cart(alice.id)
    assert cart is not None
    assert cart.items == ()


async def test_an_archived_internationalized_email_is_free_in_any_case(
    uow: AsyncUnitOfWorkFactory,
) -> None:
    accounts = AsyncAccountService(uow, HASHER)
    emil = await accounts.register("emil", "emil@bücher.de", "a long password")
    await accounts.delete_user(emil.id)
    async with uow(read_only=True) as work:
        with pytest.raises(UserNotFound):
            await work.users.get_by_email("EMIL@BÜCHER.de")
    with pytest.raises(AuthenticationFailed):
        await accounts.authenticate("emil@xn--bcher-kva.de", "a long password")
    again = await accounts.register("Emil", "Emil@Bücher.DE", "another password")
    assert again.email == "Emil@xn--bcher-kva.de"
    assert await accounts.authenticate("emil@bücher.de", "another password") == again


async def test_archived_products_are_skipped_both_near_and_past_the_search_walk(
    uow: AsyncUnitOfWorkFactory,
) -> None:
    """PostgreSQL walks a bounded stretch of the sort order first (300 rows for a page of 2,
    3,000 by name), then asks the trigram index for the rest: matches on both sides of that
    stretch, archived ones among them, come out the same on both adapters."""
    early = [NewProduct(name=f"Aardvark lamp {n}", price=Decimal("1.00")) for n in range(4)]
    filler = [NewProduct(name=f"Filler {n:05}", price=Decimal("5.00")) for n in range(3_100)]
    late = [NewProduct(name=f"Zebra lamp {n}", price=Decimal("9.00")) for n in range(4)]
    async with uow() as work:
        await work.products.add_many([*early, *filler, *late])
        await work.commit()
    lamps = [*range(1, 5), *range(3_105, 3_109)]
    archived = lamps[::2]
    for product_id in archived:
        await _archive_product(uow, product_id)
    live = sorted(set(lamps) - set(archived))
    assert await _every_search(uow, text="lamp") == dict.fromkeys(ProductSort, live)
    assert await _every_search(
        uow, text="lamp", in_stock_only=False, max_price=Decimal("9.00")
    ) == (dict.fromkeys(ProductSort, live))
