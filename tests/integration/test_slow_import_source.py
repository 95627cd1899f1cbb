"""`add_many` streams from the caller's iterable: the time the caller takes to produce rows does
not count against the database deadlines, and a slow but healthy source imports in full."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

from domain.model import NewProduct
from domain.search import ProductQuery
from ports.unit_of_work import UnitOfWorkFactory

ROWS = 8
PAUSE = 0.5  # 4 s in all: more than statement_timeout (2 s) plus the margin (1 s) of own_uow


def test_a_source_slower_than_statement_timeout_still_imports(own_uow: UnitOfWorkFactory) -> None:
    """Rows from a slow source (a paginated API, a file parsed as it goes), one every 0.5 s
    with statement_timeout 2 s: the import stores them all, as the fake does; the time spent in
    the caller's iterable counts against no deadline."""

    def rows() -> Iterator[NewProduct]:
        for n in range(ROWS):
            time.sleep(PAUSE)
            yield NewProduct(name=f"Slow {n}", price=Decimal("1.00"))

    with own_uow() as work:
        assert work.products.add_many(rows()) == ROWS
        work.commit()
    with own_uow(read_only=True) as work:
        assert len(work.products.search(ProductQuery()).items) == ROWS
