"""Run one scenario on the fake and on PostgreSQL and record what every call answered."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from adapters.memory import MemoryUnitOfWorkFactory
from adapters.postgres import PostgresUnitOfWorkFactory, create_pool
from domain.model import NewProduct
from ports.unit_of_work import UnitOfWorkFactory
from shopdb.testdb import pool_config
from tests.contract.helpers import snapshot


class Trace:
    """Every call's outcome: ("ok", a summary) or (the exception's class name, its message)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    def __call__(self, label: str, action: Callable[[], Any]) -> Any:
        try:
            result = action()
        except BaseException as exc:  # every outcome is recorded
            self.events.append((label, type(exc).__name__, str(exc)))
            return exc
        self.events.append((label, "ok", _summary(result)))
        return result


def _summary(result: Any) -> str:
    if hasattr(result, "inventory_count"):
        return f"stock {result.inventory_count}"
    if hasattr(result, "quantity"):
        return f"quantity {result.quantity}"
    if isinstance(result, (int, str, list)) or result is None:
        return repr(result)
    return type(result).__name__


Scenario = Callable[[UnitOfWorkFactory, Trace], None]


def run(uow: UnitOfWorkFactory, scenario: Scenario) -> tuple[list[tuple[str, str, str]], object]:
    trace = Trace()
    scenario(uow, trace)
    return trace.events, snapshot(uow)


def both(postgres_uow: UnitOfWorkFactory, scenario: Scenario) -> dict[str, Any]:
    """The scenario's trace and final snapshot on each adapter."""
    memory = run(MemoryUnitOfWorkFactory(), scenario)
    postgres = run(postgres_uow, scenario)
    return {"memory": memory, "postgres": postgres}


class Boom(Exception):
    """The caller's own error, not a domain error."""


def row(i: int = 0) -> NewProduct:
    return NewProduct(name=f"Row{i}", price=Decimal("1.00"), inventory_count=1)


def stock(uow: UnitOfWorkFactory, product_id: int) -> int:
    with uow(read_only=True) as work:
        return work.products.get(product_id).inventory_count


@contextmanager
def short_timeout(url: str) -> Iterator[UnitOfWorkFactory]:
    """Units of work on a pool of their own whose statement_timeout is 500 ms."""
    pool = create_pool(pool_config(conninfo=url, min_size=1, max_size=2, statement_timeout_ms=500))
    try:
        yield PostgresUnitOfWorkFactory(pool)
    finally:
        pool.close()
