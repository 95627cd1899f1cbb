"""A server killed (SIGKILL, every process) in the middle of checkouts, on a throwaway embedded
PostgreSQL this test owns: after crash recovery, the stock taken is exactly what the orders
sold, and every order has all its lines."""

from __future__ import annotations

import os
import signal
import threading
from decimal import Decimal
from pathlib import Path

from adapters.postgres import PoolConfig, PostgresUnitOfWorkFactory, create_pool
from domain.errors import DomainError
from domain.model import NewProduct, NewUser
from services import CartService
from shopdb.embedded import ensure_database, server_url, start_server
from shopdb.migrations import upgrade
from shopdb.throwaway import throwaway_dir
from tests.faults import server_processes
from tests.threads import run_all

USERS, PRODUCTS, STOCK = 6, 4, 100_000


def test_a_crash_mid_checkouts_leaves_stock_taken_equal_to_what_orders_sold() -> None:
    with throwaway_dir() as root:
        pgdata = root / "pgdata"
        handle = start_server(pgdata, delete_on_exit=True)
        try:
            ensure_database(server_url(handle), "shop")
            url = server_url(handle, "shop")
            upgrade(url)
            _crash_during_checkouts(url, pgdata)
            handle.start()  # crash recovery replays the WAL
            pool = create_pool(PoolConfig(conninfo=url, min_size=1, max_size=1, timeout=30))
            pool.wait()
            with pool.connection() as conn:
                taken, sold, orders, short = conn.execute(
                    "SELECT (SELECT %s * count(*) - sum(inventory_count) FROM products),"
                    " (SELECT coalesce(sum(quantity), 0) FROM order_lines),"
                    " (SELECT count(*) FROM orders),"
                    " (SELECT count(*) FROM orders o WHERE (SELECT count(*) FROM order_lines l"
                    "  WHERE l.order_id = o.id) <> %s)",
                    (STOCK, PRODUCTS),
                ).fetchone() or (None, None, None, None)
            pool.close()
            print(f"\nafter the crash: {orders} orders, {sold} units sold, {taken} taken")
            assert orders is not None
            assert orders > 0
            assert (taken, short) == (sold, 0)
        finally:
            handle.cleanup()


def _crash_during_checkouts(url: str, pgdata: Path) -> None:
    pool = create_pool(
        PoolConfig(conninfo=url, min_size=USERS, max_size=USERS, timeout=5, connect_timeout=2)
    )
    pool.wait()
    uow = PostgresUnitOfWorkFactory(pool)
    with uow() as work:
        users = [
            work.users.add(NewUser(username=f"user{n}", email=f"u{n}@ex.com", password_hash="h")).id
            for n in range(USERS)
        ]
        products = [
            work.products.add(
                NewProduct(name=f"P{n}", price=Decimal("1.25"), inventory_count=STOCK)
            ).id
            for n in range(PRODUCTS)
        ]
        work.commit()
    carts = CartService(uow)
    enough = threading.Semaphore(0)  # one release per committed checkout
    stop = threading.Event()

    def shopper(user: int) -> None:
        n = 0
        while not stop.is_set():
            try:
                for product in products:
                    carts.add_to_cart(user, product, 1 + n % 3)
                carts.checkout(user, f"c{n}")
                enough.release()
            except DomainError:
                if stop.is_set():
                    return
            n += 1

    def killer() -> None:
        for _ in range(3 * USERS):  # checkouts are under way on every connection
            if not enough.acquire(timeout=120):
                stop.set()
                raise AssertionError("the shoppers stopped checking out before the crash")
        for pid in server_processes(pgdata):
            os.kill(pid, signal.SIGKILL)
        stop.set()

    run_all([*(lambda u=u: shopper(u) for u in users), killer])
    pool.close()
