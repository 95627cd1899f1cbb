"""Tools of the review tests: release workers together, and hold a lock in a second unit of work
while an operation starts."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from domain.errors import DomainError
from domain.model import Cart, NewProduct
from ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from tests.integration.test_archive_interleavings import _in_thread
from tests.integration.test_interleavings import _wait_for_lock_wait
from tests.threads import run_all


def together(*actions: Callable[[], Any]) -> list[tuple[bool, Any]]:
    """Runs every action in its own thread, all released at once by a barrier; for each,
    (True, its result) or (False, the domain error it raised)."""
    barrier = threading.Barrier(len(actions))
    results: list[tuple[bool, Any]] = [(False, None)] * len(actions)

    def worker(index: int, action: Callable[[], Any]) -> Callable[[], None]:
        def run() -> None:
            barrier.wait()
            try:
                results[index] = (True, action())
            except DomainError as exc:
                results[index] = (False, exc)

        return run

    run_all([worker(i, action) for i, action in enumerate(actions)])
    return results


def while_held(
    uow: UnitOfWorkFactory,
    url: str,
    hold: Callable[[UnitOfWork], object],
    action: Callable[[], Any],
) -> tuple[bool, list[Any]]:
    """`hold` runs in an open unit of work; `action` starts in a thread; once a backend waits
    for a lock (or 3 s passed without one), the holder commits. Returns whether anything
    waited, and the action's result or exception."""
    holder = uow()
    with holder:
        hold(holder)
        thread, outcome = _in_thread(action)
        try:
            _wait_for_lock_wait(url, timeout=3.0)
            waited = True
        except AssertionError:
            waited = False
        holder.commit()
    thread.join(30)
    return waited, outcome


def in_own_unit(uow: UnitOfWorkFactory, work: Callable[[UnitOfWork], Any]) -> Callable[[], Any]:
    def run() -> Any:
        with uow() as unit:
            result = work(unit)
            unit.commit()
        return result

    return run


def add_products(uow: UnitOfWorkFactory, count: int, inventory: int = 10) -> None:
    """Products 1 to `count`, at 1.00 each."""
    with uow() as work:
        work.products.add_many(
            NewProduct(name=f"P{i}", price=Decimal("1.00"), inventory_count=inventory)
            for i in range(count)
        )
        work.commit()


def fill_cart(uow: UnitOfWorkFactory, user_id: int, lines: int) -> Cart:
    """The user's cart, holding one unit each of products 1 to `lines`, committed."""
    with uow() as work:
        cart = work.carts.get_or_create(user_id)
        for product_id in range(1, lines + 1):
            work.carts.add_item(cart.id, product_id, 1)
        work.commit()
    return cart
