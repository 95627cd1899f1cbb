"""Correct under concurrency, on PostgreSQL: no oversell, no lost increment, no deadlock
reaching a caller, exactly one winner of an optimistic race. Each test prints its figures."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

from adapters.postgres import PostgresUnitOfWorkFactory
from domain.errors import (
    ConcurrencyConflict,
    DomainError,
    EmptyCart,
    InsufficientInventory,
)
from domain.model import NewProduct, NewUser, ProductChanges
from services import CartService
from tests.threads import run_all

THREADS = 8


def _users(uow: PostgresUnitOfWorkFactory, count: int) -> list[int]:
    with uow() as work:
        ids = [
            work.users.add(
                NewUser(username=f"buyer{n}", email=f"buyer{n}@example.com", password_hash="h")
            ).id
            for n in range(count)
        ]
        work.commit()
    return ids


def _products(uow: PostgresUnitOfWorkFactory, stock: list[int]) -> list[int]:
    with uow() as work:
        ids = [
            work.products.add(
                NewProduct(name=f"Hot item {n}", price=Decimal("5.00"), inventory_count=units)
            ).id
            for n, units in enumerate(stock)
        ]
        work.commit()
    return ids


def test_no_oversell_under_mixed_load(postgres_uow: PostgresUnitOfWorkFactory) -> None:
    initial = 5_000
    products = _products(postgres_uow, [initial, initial])
    users = _users(postgres_uow, THREADS * 4)
    carts = CartService(postgres_uow)
    sold: Counter[int] = Counter()
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def shopper(worker: int) -> Callable[[], None]:
        rng = random.Random(worker)

        def run() -> None:
            mine = users[worker * 4 : worker * 4 + 4]
            for _ in range(10_000 // THREADS):
                user = rng.choice(mine)
                try:
                    if rng.random() < 0.6:
                        carts.add_to_cart(user, rng.choice(products), rng.randrange(1, 5))
                        kind = "added"
                    else:
                        receipt = carts.checkout(user)
                        with lock:
                            for line in receipt.lines:
                                sold[line.product_id] += line.quantity
                        kind = "checked out"
                except (InsufficientInventory, EmptyCart) as refused:
                    kind = type(refused).__name__
                with lock:
                    outcomes[kind] += 1

        return run

    run_all([shopper(n) for n in range(THREADS)])
    with postgres_uow(read_only=True) as work:
        remaining = {pid: work.products.get(pid).inventory_count for pid in products}
    print(f"\nno oversell: outcomes {dict(outcomes)}, sold {dict(sold)}, remaining {remaining}")
    assert sum(outcomes.values()) == 10_000
    for pid in products:
        assert remaining[pid] >= 0
        assert sold[pid] + remaining[pid] == initial  # 0 lost updates
    assert outcomes["checked out"] > 0


def test_concurrent_increments_all_count(postgres_uow: PostgresUnitOfWorkFactory) -> None:
    users = _users(postgres_uow, 4)
    products = _products(postgres_uow, [10_000] * 4)  # a line never exceeds the stock
    with postgres_uow() as work:
        carts = [work.carts.get_or_create(user).id for user in users]
        work.commit()
    pairs = [(cart, product) for cart in carts for product in products]  # 16 pairs
    committed: Counter[tuple[int, int]] = Counter()
    lock = threading.Lock()

    def adder(worker: int) -> Callable[[], None]:
        rng = random.Random(worker)

        def run() -> None:
            for _ in range(10_000 // THREADS):
                cart, product = rng.choice(pairs)
                with postgres_uow() as work:
                    work.carts.add_item(cart, product, 1)
                    work.commit()
                with lock:
                    committed[(cart, product)] += 1

        return run

    run_all([adder(n) for n in range(THREADS)])
    with postgres_uow(read_only=True) as work:
        final = {
            (cart, item.product_id): item.quantity
            for cart in carts
            for item in work.carts.get(cart).items
        }
    print(f"\nincrements: {sum(committed.values())} committed over {len(final)} pairs")
    assert final == dict(committed)
    assert sum(final.values()) == 10_000


def test_shuffled_multi_line_checkouts_never_deadlock(
    postgres_uow: PostgresUnitOfWorkFactory,
) -> None:
    products = _products(postgres_uow, [100_000] * 6)
    users = _users(postgres_uow, THREADS)
    carts = CartService(postgres_uow)
    errors: list[DomainError] = []
    rounds = 40

    def buyer(worker: int) -> Callable[[], None]:
        rng = random.Random(worker)

        def run() -> None:
            for _ in range(rounds):
                lines = products[:]
                rng.shuffle(lines)  # lines go in in a different order for every buyer
                for product in lines:
                    carts.add_to_cart(users[worker], product, 1)
                try:
                    carts.checkout(users[worker])
                except DomainError as exc:
                    errors.append(exc)

        return run

    run_all([buyer(n) for n in range(THREADS)])
    with postgres_uow(read_only=True) as work:
        left = [work.products.get(pid).inventory_count for pid in products]
    print(f"\ncheckouts: {THREADS * rounds} of 6 lines, errors reaching callers: {len(errors)}")
    assert errors == []
    assert left == [100_000 - THREADS * rounds] * 6


def test_optimistic_race_has_exactly_one_winner(postgres_uow: PostgresUnitOfWorkFactory) -> None:
    (product,) = _products(postgres_uow, [1])
    both_read = threading.Barrier(2)
    results: list[str] = []

    def editor(price: str) -> Callable[[], None]:
        def run() -> None:
            with postgres_uow() as work:
                version = work.products.get(product).version
                both_read.wait()
                try:
                    work.products.update(product, version, ProductChanges(price=Decimal(price)))
                    work.commit()
                    results.append("won")
                except ConcurrencyConflict:
                    results.append("conflict")

        return run

    run_all([editor("1.00"), editor("2.00")])
    with postgres_uow(read_only=True) as work:
        final = work.products.get(product)
    print(f"\noptimistic race: {sorted(results)}")
    assert sorted(results) == ["conflict", "won"]
    assert final.version == 2
