"""The caller's iterable given to `add_many` may try to use the unit of work it is being
imported through (look up a product to skip duplicates, say): both adapters refuse at once with
UnitOfWorkBusy, nothing hangs and nothing is stored."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest

from domain.errors import UnitOfWorkBusy
from domain.model import NewProduct
from domain.search import ProductQuery
from ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

# The PostgreSQL pool of these tests answers within statement_timeout 2 s + margin 1 s; give a
# call far more than that before calling it hung.
HUNG_AFTER = 20.0


def _product(name: str) -> NewProduct:
    return NewProduct(name=name, price=Decimal("1.00"), inventory_count=1)


def _finishes(work: Callable[[], object]) -> tuple[bool, object]:
    """Run `work` in a daemon thread: whether it ended within HUNG_AFTER, and its outcome."""
    outcome: list[object] = []

    def target() -> None:
        try:
            outcome.append(work())
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(HUNG_AFTER)
    return (not thread.is_alive()), (outcome[0] if outcome else None)


def _import_with(uow: UnitOfWorkFactory, inside: Callable[[UnitOfWork], object]) -> object:
    with uow() as work:
        work.products.add(_product("Existing"))
        work.commit()

        def rows() -> Iterator[NewProduct]:
            yield _product("Imported A")
            inside(work)
            yield _product("Imported B")

        stored = work.products.add_many(rows())
        work.commit()
        return stored


@pytest.mark.parametrize(
    "inside",
    [
        pytest.param(lambda work: work.products.get(1), id="a read"),
        pytest.param(lambda work: work.products.add(_product("Inner")), id="a write"),
    ],
)
def test_an_iterable_that_uses_its_own_unit_of_work_does_not_hang_the_import(
    own_uow: UnitOfWorkFactory, inside: Callable[[UnitOfWork], object]
) -> None:
    """A generator that reads or writes through the unit of work `add_many` is consuming:
    both adapters refuse the inner call with UnitOfWorkBusy at once, the import rolls back and
    propagates it, and nothing hangs or holds a pool slot."""
    ended, outcome = _finishes(lambda: _import_with(own_uow, inside))
    assert ended, f"add_many was still blocked after {HUNG_AFTER} s"
    assert isinstance(outcome, UnitOfWorkBusy), repr(outcome)
    with own_uow(read_only=True) as work:
        names = {p.name for p in work.products.search(ProductQuery()).items}
    assert names == {"Existing"}
