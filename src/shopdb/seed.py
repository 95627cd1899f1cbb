"""Realistic sample data, loaded through the bulk path; safe to run more than once."""

from __future__ import annotations

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

Advance = Callable[[int], None]


@dataclass(frozen=True)
class SeedReport:
    products: int
    users: int
    carts: int


def products(count: int, rng: random.Random) -> Iterator[NewProduct]:
    for n in range(count):
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {n + 1}"
        yield NewProduct(
            name=name,
            description=f"A {name.lower()}, made to last.",
            price=Decimal(rng.randrange(99, 99_999)) / 100,
            inventory_count=rng.randrange(0, 500),
        )


def _counted(items: Iterator[NewProduct], advance: Advance) -> Iterator[NewProduct]:
    pending = 0
    for item in items:
        yield item
        pending += 1
        if pending == 1000:
            advance(pending)
            pending = 0
    advance(pending)


def seed(
    uow: UnitOfWorkFactory,
    hasher: PasswordHasher,
    *,
    product_count: int,
    user_count: int,
    cart_count: int,
    seed_value: int | None = None,
    advance: Advance = lambda _: None,
) -> SeedReport:
    """Load products (COPY), users and carts of ITEMS_PER_CART lines. Names carry a random
    token per run, so a second run adds more data instead of failing on unique names."""
    rng = random.Random(seed_value)  # noqa: S311 - sample data, not security
    token = secrets.token_hex(3)
    loaded = CatalogService(uow).import_products(_counted(products(product_count, rng), advance))

    password_hash = hasher.hash(SEED_PASSWORD)
    user_ids = []
    with uow() as work:
        for n in range(user_count):
            name = f"{rng.choice(FIRST)}_{token}_{n + 1}"
            user = work.users.add(
                NewUser(username=name, email=f"{name}@example.com", password_hash=password_hash)
            )
            user_ids.append(user.id)
            if (n + 1) % 1000 == 0:
                advance(1000)
        work.commit()
    advance(user_count % 1000)

    carts = min(cart_count, len(user_ids))
    if carts:
        with uow(read_only=True) as work:
            page = work.products.search(ProductQuery(sort=ProductSort.NEWEST, limit=500))
        product_ids = [p.id for p in page.items]
        with uow() as work:
            for n, user_id in enumerate(user_ids[:carts], start=1):
                cart = work.carts.get_or_create(user_id)
                for product_id in rng.sample(product_ids, min(ITEMS_PER_CART, len(product_ids))):
                    work.carts.add_item(cart.id, product_id, rng.randrange(1, 4))
                if n % 100 == 0:
                    advance(100)
            work.commit()
        advance(carts % 100)
    return SeedReport(products=loaded, users=user_count, carts=carts)
