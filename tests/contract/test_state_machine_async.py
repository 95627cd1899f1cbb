"""Random sequences of shop operations, run on the in-memory adapter and on PostgreSQL side by
side: after every step both must have answered the same, errors included.

CI runs 200 examples of 30 steps; SHOPDB_STATEFUL=long runs 1,000 of 50."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from pydantic import BaseModel

from adapters.memory.unit_of_work_async import AsyncMemoryUnitOfWorkFactory
from adapters.postgres import ShopdbPool
from adapters.postgres.unit_of_work_async import AsyncPostgresUnitOfWorkFactory
from domain.errors import DomainError, UserNotFound
from domain.search import Page, ProductQuery, ProductSort
from ports.unit_of_work_async import AsyncUnitOfWorkFactory
from services.accounts_async import AsyncAccountService
from services.carts_async import AsyncCartService
from services.catalog_async import AsyncCatalogService
from services.orders_async import AsyncOrderService
from shopdb.testdb import pool_config, truncate_all
from shopdb.testing import InsecureTestHasher
from tests.strategies import case_names, search_texts

if True:  # ASYNC
    from adapters.postgres.async_pool import AsyncShopdbPool, create_pool_async

# (examples, steps); `citus` for the run on a Citus cluster (.ci/citus), where each statement
# about many users or about products is a round trip to several nodes.
PROFILES = {"ci": (200, 30), "long": (1000, 50), "citus": (40, 30)}
EXAMPLES, STEPS = PROFILES[os.environ.get("SHOPDB_STATEFUL", "ci")]

# A few more ids than the machine starts with, so that "not found" happens too.
user_ids = st.integers(1, 4)
product_ids = st.integers(1, 6)
names = st.sampled_from(["alice", "Alice", "bob", "BOB", "carol", "dave"])
domains = st.sampled_from(["example.com", "EXAMPLE.com", "shop.example"])
product_names = (
    st.sampled_from(["Lamp", "lamp", "Desk", "Desk lamp", "100% rug", "a_b"]) | case_names
)
prices = st.decimals(min_value=0, max_value=200, places=2)
quantities = st.integers(1, 5)


def observe(value: Any) -> Any:
    """What a caller can rely on, minus what legitimately differs (timestamps, cursors' text)."""
    if isinstance(value, DomainError):
        details = {k: observe(v) for k, v in vars(value).items()}
        return ("error", type(value).__name__, str(value), details)
    if isinstance(value, Page):
        return ("page", observe(value.items), value.next_cursor is not None)
    if isinstance(value, BaseModel):
        return observe(value.model_dump())
    if isinstance(value, dict):
        return {k: observe(v) for k, v in value.items() if not isinstance(v, datetime)}
    if isinstance(value, list | tuple):
        return [observe(v) for v in value]
    return value


class Shop:
    """The services over one adapter."""

    def __init__(self, uow: AsyncUnitOfWorkFactory, hasher: InsecureTestHasher) -> None:
        self.uow = uow
        self.accounts = AsyncAccountService(uow, hasher)
        self.catalog = AsyncCatalogService(uow)
        self.carts = AsyncCartService(uow)
        self.orders = AsyncOrderService(uow)


class AsyncSideBySide(RuleBasedStateMachine):
    if True:  # ASYNC
        # Hypothesis calls the rules: each runs its steps to the end on the machine's own event
        # loop, and the PostgreSQL side on a pool of that loop (an async pool serves the loop
        # it was opened in), both made for each example and closed in `teardown`.
        runner: asyncio.Runner
    pool: AsyncShopdbPool
    database_url: str
    hasher = InsecureTestHasher()

    def __init__(self) -> None:
        super().__init__()
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            truncate_all(conn)
        if True:  # ASYNC
            self.runner = asyncio.Runner()
            self.pool = create_pool_async(
                pool_config(conninfo=self.database_url, min_size=1, max_size=2, timeout=10)
            )
            try:
                self.runner.run(self.pool.open(wait=True))
            except BaseException:
                self.runner.close()  # no teardown follows a machine that was never made
                raise
        self.supplied: dict[int, int] = {}  # units ever put into stock, per product
        self.archived_users: set[int] = set()
        self.archived_products: set[int] = set()
        self.shops = (
            Shop(AsyncMemoryUnitOfWorkFactory(), self.hasher),
            Shop(AsyncPostgresUnitOfWorkFactory(self.pool), self.hasher),
        )

    if True:  # ASYNC

        def teardown(self) -> None:
            try:
                self.runner.run(self.pool.close())
            finally:
                self.runner.close()

    def both(self, action: Callable[[Shop], Any]) -> Any:
        results = []
        for shop in self.shops:
            try:
                if True:  # ASYNC
                    results.append(observe(self.runner.run(action(shop))))
                else:
                    results.append(observe(action(shop)))
            except DomainError as exc:
                results.append(observe(exc))
        memory, postgres = results
        assert memory == postgres, f"memory: {memory}\npostgres: {postgres}"
        return memory

    @initialize(stock=st.lists(st.integers(0, 8), min_size=3, max_size=3))
    def open_shop(self, stock: list[int]) -> None:
        for name in ("alice", "bob", "carol"):
            self.register(name, "example.com")
        for name, count in zip(("Lamp", "Desk", "Rug"), stock, strict=True):
            self.add_product(name, Decimal("9.99"), count)

    @rule(name=names, domain=domains)
    def register(self, name: str, domain: str) -> None:
        self.both(lambda s: s.accounts.register(name, f"{name}@{domain}", "password123"))

    @rule(user=user_ids, name=names, domain=domains)
    def change_email(self, user: int, name: str, domain: str) -> None:
        self.both(lambda s: s.accounts.change_email(user, f"{name}@{domain}"))

    @rule(name=product_names, price=prices, stock=st.integers(0, 8))
    def add_product(self, name: str, price: Decimal, stock: int) -> None:
        self.both(lambda s: s.catalog.create_product(name, price, inventory_count=stock))

    @rule(count=st.integers(0, 3), price=prices)
    def import_products(self, count: int, price: Decimal) -> None:
        rows = [{"name": f"Bulk {i}", "price": price, "inventory_count": i} for i in range(count)]
        self.both(lambda s: s.catalog.import_products(rows))

    @rule(
        user=user_ids,
        lines=st.lists(st.tuples(product_ids, quantities), min_size=1, max_size=4),
    )
    def fill_cart(self, user: int, lines: list[tuple[int, int]]) -> None:
        for product, quantity in lines:
            self.add_to_cart(user, product, quantity)

    def add_to_cart(self, user: int, product: int, quantity: int) -> None:
        self.both(lambda s: s.carts.add_to_cart(user, product, quantity))

    @rule(
        user=user_ids,
        lines=st.lists(st.tuples(product_ids, st.integers(0, 6)), min_size=1, max_size=4),
        savepoints=st.booleans(),
    )
    def add_lines_catching_errors(
        self, user: int, lines: list[tuple[int, int]], savepoints: bool
    ) -> None:
        """One unit of work, as a caller writes it: every add tried, errors caught, then
        commit. With a savepoint per add each failure undoes only its own; without, the first
        failure refuses every later add and the commit."""

        async def run(shop: Shop) -> list[Any]:
            seen: list[Any] = []
            async with shop.uow() as work:
                for product, quantity in lines:
                    try:
                        if savepoints:
                            async with work.savepoint():
                                seen.append(
                                    observe(await work.carts.add_for_user(user, product, quantity))
                                )
                        else:
                            seen.append(
                                observe(await work.carts.add_for_user(user, product, quantity))
                            )
                    except DomainError as exc:
                        seen.append(observe(exc))
                try:
                    await work.commit()
                    seen.append("committed")
                except DomainError as exc:
                    seen.append(observe(exc))
            return seen

        self.both(run)

    @rule(user=user_ids, product=product_ids, quantity=st.integers(0, 6))
    def change_quantity(self, user: int, product: int, quantity: int) -> None:
        self.both(lambda s: s.carts.change_quantity(user, product, quantity))

    @rule(user=user_ids, product=product_ids)
    def remove_from_cart(self, user: int, product: int) -> None:
        self.both(lambda s: s.carts.remove_from_cart(user, product))

    @rule(user=user_ids, key=st.sampled_from(["k1", "k2", "k3"]))
    def checkout(self, user: int, key: str) -> None:
        # Few keys: repeats return the order made, or refuse a key reused for another cart.
        self.both(lambda s: s.carts.checkout(user, key))

    @rule(user=user_ids, limit=st.integers(1, 3))
    def order_history(self, user: int, limit: int) -> None:
        async def two_pages(shop: Shop) -> list[Any]:
            first = await shop.orders.order_history(user, limit=limit)
            if first.next_cursor is None:
                return [first]
            return [
                first,
                await shop.orders.order_history(user, limit=limit, cursor=first.next_cursor),
            ]

        self.both(two_pages)

    @rule(user=user_ids, order=st.integers(1, 8))
    def get_order(self, user: int, order: int) -> None:
        self.both(lambda s: s.orders.get_order(user, order))

    @rule(product=product_ids, quantity=st.integers(0, 5))
    def restock(self, product: int, quantity: int) -> None:
        if isinstance(self.both(lambda s: s.catalog.restock(product, quantity)), dict):
            self.supplied[product] += quantity

    @rule(product=product_ids, stale=st.booleans(), price=prices)
    def update_price(self, product: int, stale: bool, price: Decimal) -> None:
        current = self.both(lambda s: s.catalog.get_product(product))
        version = current["version"] if isinstance(current, dict) else 2
        self.both(lambda s: s.catalog.update_product(product, version - stale, price=price))

    @rule(user=user_ids)
    def delete_user(self, user: int) -> None:
        if self.both(lambda s: s.accounts.delete_user(user)) is None:
            self.archived_users.add(user)

    @rule(product=product_ids)
    def delete_product(self, product: int) -> None:
        if self.both(lambda s: s.catalog.delete_product(product)) is None:
            self.archived_products.add(product)

    @rule(
        text=st.none() | st.sampled_from(["lamp", "%", "_", "DESK", "x"]) | search_texts,
        sort=st.sampled_from(ProductSort),
        in_stock=st.booleans(),
        limit=st.integers(1, 4),
    )
    def search_two_pages(
        self, text: str | None, sort: ProductSort, in_stock: bool, limit: int
    ) -> None:
        async def two_pages(shop: Shop) -> list[Any]:
            first = await shop.catalog.search(text, sort=sort, in_stock_only=in_stock, limit=limit)
            if first.next_cursor is None:
                return [first]
            second = await shop.catalog.search(
                text, sort=sort, in_stock_only=in_stock, limit=limit, cursor=first.next_cursor
            )
            return [first, second]

        self.both(two_pages)

    @invariant()
    def same_catalog_and_carts(self) -> None:
        async def snapshot(shop: Shop) -> Any:
            async with shop.uow(read_only=True) as work:
                products = await work.products.get_many(range(1, 40))
                carts = [await work.carts.find_for_user(user) for user in range(1, 6)]
            return {"products": products, "carts": carts}

        self.both(snapshot)

    @invariant()
    def archived_rows_are_invisible(self) -> None:
        """No read, search or cart shows an archived row; the orders still show their lines."""

        async def check(shop: Shop) -> None:
            async with shop.uow(read_only=True) as work:
                assert not set(await work.products.get_many(range(1, 40))) & self.archived_products
                listed = {
                    p.id
                    for sort in ProductSort
                    for p in (await work.products.search(ProductQuery(sort=sort, limit=100))).items
                }
                assert not listed & self.archived_products
                for user in range(1, 6):
                    cart = await work.carts.find_for_user(user)
                    if user in self.archived_users:
                        assert cart is None
                        with pytest.raises(UserNotFound):
                            await work.users.get(user)
                    elif cart is not None:
                        assert not {i.product_id for i in cart.items} & self.archived_products

        for shop in self.shops:
            if True:  # ASYNC
                self.runner.run(check(shop))
            else:
                check(shop)

    @invariant()
    def stock_taken_is_what_orders_sold(self) -> None:
        """Every unit that left the stock is in exactly one order line, on both adapters."""

        async def check(shop: Shop) -> None:
            async with shop.uow(read_only=True) as work:
                products = await work.products.get_many(range(1, 40))
                # An archived user's orders are listed too: its sales stay counted.
                orders = [
                    o
                    for u in range(1, 6)
                    for o in (await work.orders.list_for_user(u, limit=100)).items
                ]
            sold = Counter[int]()
            for order in orders:
                for line in order.lines:
                    sold[line.product_id] += line.quantity
            for product in products.values():
                # First seen right after the step that made it: nothing of it sold yet.
                self.supplied.setdefault(product.id, product.inventory_count + sold[product.id])
                assert product.inventory_count + sold[product.id] == self.supplied[product.id]

        for shop in self.shops:
            if True:  # ASYNC
                self.runner.run(check(shop))
            else:
                check(shop)


def test_adapters_agree_on_random_operation_sequences(
    pg_pool: ShopdbPool, database_url: str
) -> None:
    if True:  # ASYNC
        pass  # each example opens a pool of its own, on its own event loop
    else:
        AsyncSideBySide.pool = pg_pool
    AsyncSideBySide.database_url = database_url
    run_state_machine_as_test(
        AsyncSideBySide,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
        ),
    )
