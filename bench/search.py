"""The search mix: page 1 of at least 50 terms per sort order, and a deep page of a common term."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from sqlalchemy import Engine, select, tuple_
from sqlalchemy.orm import Session

from bench.orm import ProductRow
from domain.search import ProductQuery, ProductSort
from ports.unit_of_work import UnitOfWorkFactory

# Names are "<word> <word> <n>" of bench.database.WORDS (20 words): a word is in ~10% of the
# names, two words in a row in ~0.25%, a number of 5-6 digits in one to a dozen.
COMMON = ["lamp", "oak", "chair", "steel", "velvet", "pillow", "clock", "Glass", "WOOL", "desk"]
THREE_CHARACTERS = ["oak", "rug", "mug", "amp", "ool", "ase", "elv", "ock", "eel", "k d"]
MODERATE = ["oak rug", "lamp desk", "steel mug", "wool vase", "clock frame", "glass lamp 1"]
RARE = ["123456", "654321", "999999", "100000", "31415", "27182", "oak oak 7", "lamp rug 42"]
ABSENT = ["zebra", "sofa", "table", "qqq", "xylophone", "oak  rug", "lamp_", "50%", "a\\b"]
NON_ASCII = [
    "café",
    "straße",
    "İstanbul",
    "ÖL",
    "ΟΔΟΣ",
    "lämp",
    "\uff4c\uff41\uff4d\uff50",
    "🪑 chair",
]
TERMS = COMMON + THREE_CHARACTERS + MODERATE + RARE + ABSENT + NON_ASCII
DEEP_TERM, DEEP_PAGE = "lamp", 20
PAGE = 20


class Searcher(Protocol):
    name: str

    def search(self, text: str, sort: ProductSort, cursor: Any) -> tuple[int, Any]:
        """Page 1 (cursor None) or the page after `cursor`: (rows, the next cursor)."""
        ...


def millis(work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    work()
    return (time.perf_counter() - started) * 1000


def p95(samples: Sequence[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[-1]


def mix(searcher: Searcher, sort: ProductSort, rounds: int) -> list[float]:
    """Page 1 of every term, `rounds` times: one sample a search, in ms."""
    samples = []
    for _ in range(rounds):
        for term in TERMS:
            started = time.perf_counter()
            searcher.search(term, sort, None)
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def deep(searcher: Searcher, sort: ProductSort, rounds: int) -> list[float]:
    """Page DEEP_PAGE of DEEP_TERM, reached through the cursors of the pages before it."""
    cursor = None
    for _ in range(DEEP_PAGE - 1):
        _, cursor = searcher.search(DEEP_TERM, sort, cursor)
    return [millis(lambda: searcher.search(DEEP_TERM, sort, cursor)) for _ in range(rounds)]


def report(searchers: dict[int, list[Searcher]], rounds: int, ours: str) -> None:
    """p95 per sort order for each contestant and size, then the growth of the whole mix."""
    sizes = sorted(searchers)
    totals: dict[tuple[str, int], float] = {}
    print(
        f"\nsearch, p95 ms over {len(TERMS)} terms x {rounds} rounds (page 1), and page {DEEP_PAGE}"
    )
    for sort in ProductSort:
        for size in sizes:
            for searcher in searchers[size]:
                # The ORM scans the catalog for most terms: one round is figure enough.
                times = rounds if searcher.name == ours else 1
                page_1 = mix(searcher, sort, times)
                page_deep = deep(searcher, sort, times * 5)
                totals[searcher.name, size] = totals.get((searcher.name, size), 0) + sum(page_1)
                print(
                    f"  sort {sort.value:<7} {searcher.name:<16} @ {size:>9,}:"
                    f" page 1 p95 {p95(page_1):8.2f}  median {statistics.median(page_1):7.2f}"
                    f"  max {max(page_1):8.2f} | page {DEEP_PAGE} of {DEEP_TERM!r}"
                    f" p95 {p95(page_deep):8.2f}",
                    flush=True,
                )
    small, large = sizes[0], sizes[-1]
    for name in dict.fromkeys(name for name, _ in totals):
        cost = totals[name, large] / totals[name, small]
        verdict = ("met" if cost <= 1.5 else "MISSED") if name == ours else "(reference)"
        print(
            f"  search mix through {name}: at {large:,} products it costs {cost:.2f}x"
            f" what it costs at {small:,}  (target <= 1.5x)  {verdict}"
        )


class ShopdbSearch:
    """Through the port, as the catalog pages: the opaque cursor of the page before."""

    name = "shopdb"

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self.uow = uow

    def search(self, text: str, sort: ProductSort, cursor: Any) -> tuple[int, Any]:
        with self.uow(read_only=True) as work:
            page = work.products.search(ProductQuery(text=text, sort=sort, cursor=cursor))
        return len(page.items), page.next_cursor


class OrmSearch:
    """The SQLAlchemy ORM as an application would write it: ILIKE, keyset on the same indexes."""

    name = "SQLAlchemy ORM"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def search(self, text: str, sort: ProductSort, cursor: Any) -> tuple[int, Any]:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        key = {
            ProductSort.NAME: ProductRow.name.collate("C"),
            ProductSort.PRICE: ProductRow.price,
            ProductSort.NEWEST: ProductRow.created_at,
        }[sort]
        position = tuple_(key, ProductRow.id)
        query = select(ProductRow).where(
            ProductRow.deleted_at.is_(None), ProductRow.name.ilike(f"%{escaped}%", escape="\\")
        )
        if sort is ProductSort.NEWEST:
            query = query.order_by(key.desc(), ProductRow.id.desc())
            if cursor is not None:
                query = query.where(position < tuple_(*cursor))
        else:
            query = query.order_by(key, ProductRow.id)
            if cursor is not None:
                query = query.where(position > tuple_(*cursor))
        with Session(self.engine) as session:
            rows = session.scalars(query.limit(PAGE + 1)).all()
        if len(rows) <= PAGE:
            return len(rows), None
        last = rows[PAGE - 1]
        value = {ProductSort.NAME: last.name, ProductSort.PRICE: last.price}.get(
            sort, last.created_at
        )
        return PAGE, (value, last.id)
