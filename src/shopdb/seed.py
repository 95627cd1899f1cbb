"""Realistic sample data, loaded through the bulk path; safe to run more than once."""

from __future__ import annotations

import itertools
import random
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from domain.model import NewProduct, NewUser
from domain.search import ProductQuery, ProductSort
from ports.hashing import PasswordHasher
from ports.unit_of_work import UnitOfWorkFactory
from services import CatalogService

ADJECTIVES = ["Oak", "Steel", "Linen", "Walnut", "Copper", "Velvet", "Glass", "Bamboo", "Wool"]
NOUNS = ["desk", "lamp", "chair", "rug", "shelf", "mug", "vase", "stool", "clock", "pillow"]
FIRST = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]
# Every seeded user shares this password: one Argon2 hash, not thousands.
SEED_PASSWORD = "seeded-password"  # noqa: S105 - sample data
ITEMS_PER_CART = 5

# Each batch is one transaction, committed before the next starts: an interrupted seed keeps
# every batch before the one in flight. Sizes keep a batch around a quarter of a second
# (products ~40,000/s by COPY, users ~2,000/s, carts of 5 lines ~400/s, one round trip a row).
PRODUCT_BATCH = 10_000
USER_BATCH = 500
CART_BATCH = 100

Advance = Callable[[str, int], None]
"""Called with a kind ("products", "users", "carts") and how many were just committed."""


@dataclass
class SeedReport:
    """What was committed; `interrupted` when `stop` ended the seed early."""

    products: int = 0
    users: int = 0
    carts: int = 0
    interrupted: bool = False


def products(count: int, rng: random.Random) -> Iterator[NewProduct]:
    for n in range(count):
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {n + 1}"
        yield NewProduct(
            name=name,
            description=f"A {name.lower()}, made to last.",
            price=Decimal(rng.randrange(99, 99_999)) / 100,
            inventory_count=rng.randrange(0, 500),
        )


def _ignore(kind: str, count: int) -> None:
    pass


def _never() -> bool:
    return False


def seed(
    uow: UnitOfWorkFactory,
    hasher: PasswordHasher,
    *,
    product_count: int,
    user_count: int,
    cart_count: int,
    seed_value: int | None = None,
    advance: Advance = _ignore,
    stop: Callable[[], bool] = _never,
) -> SeedReport:
    """Load products (COPY), users and carts of ITEMS_PER_CART lines, in batches each
    committed on its own; `advance` hears of each batch once it is committed. `stop` is asked
    before every batch: once it says so, the seed returns what was committed so far. Names
    carry a random token per run, so a second run adds more data instead of failing on
    unique names."""
    rng = random.Random(seed_value)  # noqa: S311 - sample data, not security
    token = secrets.token_hex(3)
    report = SeedReport()

    def more(done: int, wanted: int) -> bool:
        if done >= wanted:
            return False
        report.interrupted = stop()
        return not report.interrupted

    catalog = CatalogService(uow)
    made = products(product_count, rng)
    while more(report.products, product_count):
        stored = catalog.import_products(itertools.islice(made, PRODUCT_BATCH))
        report.products += stored
        advance("products", stored)

    password_hash = hasher.hash(SEED_PASSWORD)
    carts = min(cart_count, user_count)
    user_ids: list[int] = []  # of the first `carts` users: they get the carts
    while more(report.users, user_count):
        batch = range(report.users, min(report.users + USER_BATCH, user_count))
        with uow() as work:
            for n in batch:
                name = f"{rng.choice(FIRST)}_{token}_{n + 1}"
                user = work.users.add(
                    NewUser(username=name, email=f"{name}@example.com", password_hash=password_hash)
                )
                if n < carts:
                    user_ids.append(user.id)
            work.commit()
        report.users += len(batch)
        advance("users", len(batch))

    carts = min(carts, report.users)
    if carts and not report.interrupted:
        with uow(read_only=True) as work:
            page = work.products.search(
                ProductQuery(sort=ProductSort.NEWEST, in_stock_only=True, limit=500)
            )
        stock = {p.id: p.inventory_count for p in page.items}
        product_ids = list(stock)
        while more(report.carts, carts):
            batch_ids = user_ids[report.carts : report.carts + CART_BATCH]
            with uow() as work:
                for user_id in batch_ids:
                    cart = work.carts.get_or_create(user_id)
                    for product_id in rng.sample(
                        product_ids, min(ITEMS_PER_CART, len(product_ids))
                    ):
                        # A cart line never holds more than the stock on hand.
                        quantity = min(rng.randrange(1, 4), stock[product_id])
                        work.carts.add_item(cart.id, product_id, quantity)
                work.commit()
            report.carts += len(batch_ids)
            advance("carts", len(batch_ids))
    return report
