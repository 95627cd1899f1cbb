"""What a Citus cluster costs per use case: `python -m bench citus ONE_SERVER COORDINATOR
--workers HOST:PORT,HOST:PORT` (maintenance database URLs of a plain PostgreSQL server and of a
Citus coordinator, e.g. from `.ci/citus start`, and the coordinator's workers).

Makes one database on each (on the cluster on every node, then `shopdb distribute`), the same
catalog and users in both, and runs every use case through shopdb on both in one process:
each repeat runs every use case on the one server, then on the cluster, so load from
elsewhere hits both alike. Prints µs per use case (median of the repeats' means) on each and
the ratio. What each costs on the cluster and why is in docs/scale-out.md."""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from decimal import Decimal
from typing import Any

from adapters.postgres import PoolConfig, PostgresUnitOfWorkFactory, create_pool
from domain.model import NewProduct, NewUser, User
from services import CartService
from shopdb.testdb import migrated, scratch_database

PASSWORD_HASH = "$argon2id$v=19$m=8,t=1,p=1$YmVuY2g$YmVuY2g"  # noqa: S105 - not a secret
STOCK = 1_000_000_000


class Shop:
    """One database (one server or a cluster) with its pool, catalog and shoppers."""

    def __init__(self, url: str, products: int, users: int, rng: random.Random) -> None:
        self.pool = create_pool(PoolConfig(conninfo=url, min_size=1, max_size=1, timeout=30))
        self.pool.wait()
        self.units = PostgresUnitOfWorkFactory(self.pool)
        self.carts = CartService(self.units)
        self.rng = rng
        self.names = itertools.count()
        with self.units() as work:
            work.products.add_many(
                NewProduct(name=f"P{n}", price=Decimal("9.99"), inventory_count=STOCK)
                for n in range(products)
            )
            work.commit()
        self.products = products
        self.users = [self.register().id for _ in range(users)]
        self.cart_ids = [self.carts.add_to_cart(user, 1, 1).cart_id for user in self.users]

    def register(self) -> User:
        n = next(self.names)
        user = NewUser(username=f"user{n}", email=f"u{n}@example.com", password_hash=PASSWORD_HASH)
        with self.units(autocommit=True) as work:
            return work.users.add(user)

    def user(self) -> int:
        return self.rng.choice(self.users)

    def product(self) -> int:
        return self.rng.randrange(1, self.products + 1)

    def use_cases(self) -> dict[str, Callable[[], Any]]:
        def login() -> Any:
            with self.units(read_only=True) as work:
                return work.users.get_by_email(
                    f"u{self.rng.randrange(len(self.users))}@example.com"
                )

        def get_product() -> Any:
            with self.units(read_only=True) as work:
                return work.products.get(self.product())

        def reserve() -> Any:
            with self.units(autocommit=True) as work:
                return work.products.reserve(self.product(), 1)

        def add_to_cart() -> Any:
            return self.carts.add_to_cart(self.user(), self.product(), 1)

        def load_cart() -> Any:
            with self.units(read_only=True) as work:
                return work.carts.find_for_user(self.user())

        def cart_by_id() -> Any:
            with self.units(read_only=True) as work:
                return work.carts.get(self.rng.choice(self.cart_ids))

        def history() -> Any:
            with self.units(read_only=True) as work:
                return work.orders.list_for_user(self.user(), limit=20)

        return {
            "register (user and its two keys)": self.register,
            "log in: user by email": login,
            "get product by id": get_product,
            "reserve one unit (products)": reserve,
            "add to cart (the user's cart)": add_to_cart,
            "load the user's cart": load_cart,
            "load a cart by its id alone": cart_by_id,
            "order history, 20 a page": history,
        }

    def checkout(self, seconds: float) -> float:
        """µs per checkout of a 3-line cart (the adds untimed)."""
        spent, done, until = 0.0, 0, time.perf_counter() + seconds
        while time.perf_counter() < until:
            user = self.user()
            for product in self.rng.sample(range(1, self.products + 1), 3):
                self.carts.add_to_cart(user, product, 1)
            started = time.perf_counter()
            self.carts.checkout(user, uuid.uuid4().hex)
            spent += time.perf_counter() - started
            done += 1
        return spent / max(done, 1) * 1e6

    def close(self) -> None:
        self.pool.close()


def per_op(step: Callable[[], Any], seconds: float) -> float:
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        step()
        done += 1
    return elapsed / done * 1e6


def databases(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    with ExitStack() as stack:
        one = stack.enter_context(scratch_database(args.one_server, "shopdb_bench_one", []))
        migrated(one, distributed=False)
        workers = [w for w in args.workers.split(",") if w]
        cluster = stack.enter_context(
            scratch_database(args.coordinator, "shopdb_bench_citus", workers)
        )
        migrated(cluster, distributed=True)
        yield one, cluster


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench citus", description=__doc__)
    parser.add_argument("one_server", help="a plain PostgreSQL server's maintenance database URL")
    parser.add_argument("coordinator", help="a Citus coordinator's maintenance database URL")
    parser.add_argument("--workers", required=True, help="the coordinator's workers, HOST:PORT,...")
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=1.0, help="per use case and repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    for one_url, cluster_url in databases(args):
        shops = {
            "one server": Shop(one_url, args.products, args.users, random.Random(args.seed)),
            "cluster": Shop(cluster_url, args.products, args.users, random.Random(args.seed)),
        }
        times: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.repeats):
            for where, shop in shops.items():
                for name, step in shop.use_cases().items():
                    times.setdefault((name, where), []).append(per_op(step, args.seconds))
                name = "checkout, 3 lines"
                times.setdefault((name, where), []).append(shop.checkout(args.seconds))
        print(f"{'use case':36} {'one server µs':>14} {'cluster µs':>11} {'ratio':>7}")
        for name in dict.fromkeys(name for name, _ in times):
            one = statistics.median(times[(name, "one server")])
            cluster = statistics.median(times[(name, "cluster")])
            print(f"{name:36} {one:14,.0f} {cluster:11,.0f} {cluster / one:6.1f}x")
        for shop in shops.values():
            shop.close()


if __name__ == "__main__":
    main()
