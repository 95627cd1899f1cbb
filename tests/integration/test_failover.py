"""Surviving a failover: the primary of a pg_auto_failover formation is killed (kill -9 of the
node, its keeper and its server, as a machine crash) while four threads check out with
retries on the same key; after each failover every acknowledged order is there once and the
stock taken equals the quantities sold. Needs the formation of .ci/replicas."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from domain.errors import CartItemNotFound, StorageUnavailable, TransientConflict
from domain.model import Order
from shopdb.container import Container
from shopdb.migrations import upgrade
from shopdb.settings import Settings
from shopdb.testdb import truncate_all

pytestmark = pytest.mark.failover

KILLS = int(os.environ.get("SHOPDB_TEST_FAILOVER_KILLS", "5"))
THREADS = 4
NODES = ("a", "b")


def _env(name: str) -> str:
    value = os.environ.get(name)
    assert value, f"{name} is set by .ci/replicas"
    return value


def _node_url(name: str) -> str:
    """One node alone (no target_session_attrs), to ask it what it is."""
    url = _env("SHOPDB_TEST_FAILOVER_URL")
    hosts = url.split("@", 1)[1].split("/", 1)[0].split(",")
    return f"postgresql://postgres@{hosts[NODES.index(name)]}/shop?connect_timeout=2"


def _is_primary(name: str) -> bool:
    try:
        with psycopg.connect(_node_url(name), autocommit=True) as conn:
            row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
            return row is not None and row[0] is False
    except psycopg.Error:
        return False


def _primary() -> str:
    _until(lambda: any(_is_primary(name) for name in NODES), "a primary")
    return next(name for name in NODES if _is_primary(name))


def _kill(name: str) -> None:
    """kill -9 of every process of the node: its pg_autoctl, and the server it runs."""
    root = Path(_env("SHOPDB_TEST_FAILOVER_ROOT"))
    session = (root / f"{name}.runpid").read_text().strip()
    listed = subprocess.run(  # noqa: S603 - ps, fixed arguments
        ["/bin/ps", "-o", "pid=", "-s", session], capture_output=True, text=True, check=False
    )
    for pid in listed.stdout.split():
        os.kill(int(pid), signal.SIGKILL)


def _rejoin(name: str) -> None:
    """Run the killed node again: pg_autoctl rewinds it and it follows the new primary."""
    root = Path(_env("SHOPDB_TEST_FAILOVER_ROOT"))
    command = [
        "env",
        f"XDG_CONFIG_HOME={root}/xdg-config",
        f"XDG_DATA_HOME={root}/xdg-data",
        f"PATH={_env('SHOPDB_TEST_PG_BIN')}:{os.environ['PATH']}",
        "pg_autoctl",
        "run",
        "--pgdata",
        str(root / name),
    ]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    with (root / f"{name}.log").open("ab") as log:
        node = subprocess.Popen(  # noqa: S603 - pg_autoctl, fixed arguments
            command, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True
        )
    (root / f"{name}.runpid").write_text(str(node.pid))


def _settled() -> bool:
    """Whether the monitor sees one primary and one secondary, each in its assigned state:
    only then can it fail over again."""
    monitor = _env("SHOPDB_TEST_FAILOVER_MONITOR")
    try:
        with psycopg.connect(monitor, autocommit=True, connect_timeout=2) as conn:
            row = conn.execute(
                "SELECT array_agg(reportedstate::text ORDER BY reportedstate::text)"
                " FILTER (WHERE reportedstate = goalstate) FROM pgautofailover.node"
            ).fetchone()
    except psycopg.Error:
        return False
    return row is not None and row[0] == ["primary", "secondary"]


def _until(check: Callable[[], bool], what: str, tries: int = 3000) -> None:
    """Polls `check` every 20 ms; a formation that never gets there fails the test."""
    for _ in range(tries):
        if check():
            return
        time.sleep(0.02)
    raise AssertionError(f"the formation never got to: {what}")


@pytest.fixture(scope="module")
def shop() -> Iterator[Container]:
    primary = _node_url(_primary())
    upgrade(primary)
    with psycopg.connect(primary, autocommit=True) as conn:
        truncate_all(conn)  # the formation's database outlives a run
    container = Container(
        settings=Settings(
            DATABASE_URL=_env("SHOPDB_TEST_FAILOVER_URL"),
            pool_min_size=1,
            pool_max_size=8,
            pool_timeout=2,
            connect_timeout=2,
            statement_timeout_ms=3_000,
            deadline_margin_ms=1_000,
        )
    )
    container.init_resources()
    yield container
    container.shutdown_resources()


class Shopper(threading.Thread):
    """Adds one lamp to its cart and checks out, over and over, retrying each step after any
    StorageUnavailable (CommitOutcomeUnknown included) with the same idempotency key."""

    def __init__(self, shop: Container, user_id: int, product_id: int, stop: threading.Event):
        super().__init__(name=f"shopper-{user_id}", daemon=True)
        self.carts = shop.carts()
        self.user_id, self.product_id, self.stop = user_id, product_id, stop
        self.acknowledged: dict[str, Order] = {}
        self.writes: list[float] = []  # when each write succeeded (monotonic)
        self.unknown = 0  # CommitOutcomeUnknown seen
        self.failures: list[BaseException] = []

    def _retrying(self, step: Any) -> Any:
        while True:
            try:
                done = step()
                self.writes.append(time.monotonic())
                return done
            except (StorageUnavailable, TransientConflict) as exc:
                if type(exc).__name__ == "CommitOutcomeUnknown":
                    self.unknown += 1
                time.sleep(0.01)

    def _add(self) -> None:
        try:
            self.carts.change_quantity(self.user_id, self.product_id, 1)
        except CartItemNotFound:
            self.carts.add_to_cart(self.user_id, self.product_id, 1)

    def run(self) -> None:
        n = 0
        try:
            while not self.stop.is_set():
                key = f"{self.name}-{n}"
                self._retrying(self._add)
                self.acknowledged[key] = self._retrying(
                    lambda key=key: self.carts.checkout(self.user_id, key)
                )
                n += 1
        except BaseException as exc:
            self.failures.append(exc)


def _written_since(shoppers: list[Shopper], moment: float) -> bool:
    return any(t > moment for s in shoppers for t in s.writes)


def _check_invariants(
    shop: Container, shoppers: list[Shopper], product_id: int, stock: int
) -> None:
    orders = shop.orders()
    acknowledged = [(s.user_id, o) for s in shoppers for o in s.acknowledged.values()]
    for user_id, order in acknowledged:
        assert orders.get_order(user_id, order.id) == order
    with psycopg.connect(_node_url(_primary()), autocommit=True) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM orders),"
            " (SELECT count(DISTINCT (user_id, idempotency_key)) FROM orders),"
            " (SELECT COALESCE(sum(quantity), 0) FROM order_lines WHERE product_id = %s),"
            " (SELECT inventory_count FROM products WHERE id = %s)",
            (product_id, product_id),
        ).fetchone()
    assert row is not None
    stored, keys, sold, left = row
    assert stored == keys, "no checkout was stored twice"
    assert stock - left == sold, "stock taken equals quantities sold"
    # Every thread finished its last key before stopping: all that was stored was acknowledged.
    assert stored == len(acknowledged), "every acknowledged order is there, and no other"
    assert sold == sum(line.quantity for _, o in acknowledged for line in o.lines)


def test_failovers_lose_no_acknowledged_order_and_double_no_sale(shop: Container) -> None:
    accounts = shop.accounts()
    users = [
        accounts.register(f"buyer{n}", f"buyer{n}@example.com", "pw-long-enough-1")
        for n in range(THREADS)
    ]
    stock = 1_000_000
    lamp = shop.catalog().create_product("Lamp", "1.00", inventory_count=stock)
    stop = threading.Event()
    shoppers = [Shopper(shop, user.id, lamp.id, stop) for user in users]
    for shopper in shoppers:
        shopper.start()
    timings: list[tuple[float, float]] = []
    try:
        for _ in range(KILLS):
            _until(_settled, "a primary and a secondary")
            time.sleep(1.0)  # checkouts under way on the current primary
            old = _primary()
            new = NODES[1 - NODES.index(old)]
            killed = time.monotonic()
            _kill(old)
            # The HA engine's part ends when the standby is promoted (answers read-write).
            _until(functools.partial(_is_primary, new), f"{new} promoted", tries=6000)
            promoted = time.monotonic()
            _until(
                functools.partial(_written_since, shoppers, promoted),
                "a write after the promotion",
            )
            first_write = min(t for s in shoppers for t in s.writes if t > promoted)
            timings.append((promoted - killed, first_write - promoted))
            _rejoin(old)
        _until(_settled, "a primary and a secondary")
    finally:
        stop.set()
        for shopper in shoppers:
            shopper.join(timeout=60)
    assert [f for s in shoppers for f in s.failures] == []
    _check_invariants(shop, shoppers, lamp.id, stock)
    for n, (engine, ours) in enumerate(timings, 1):
        print(
            f"\nfailover {n}: kill to promotion {engine:.2f} s (pg_auto_failover),"
            f" promotion to first write {ours:.2f} s (shopdb)"
        )
    print(
        f"orders acknowledged: {sum(len(s.acknowledged) for s in shoppers)},"
        f" commit outcomes unknown: {sum(s.unknown for s in shoppers)}"
    )
