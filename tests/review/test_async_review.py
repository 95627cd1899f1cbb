"""Independent review of the asyncio API, through its public surface only (README, docs/async.md,
docs/unit-of-work.md, docs/errors.md, docs/usage.md and the async ports' and services'
docstrings).

Each defect it found is fixed, and its test kept (headed "Found:"); the rest are guards.
Run: DATABASE_URL=postgresql://postgres@127.0.0.1:5432/review_k \
     .venv/bin/pytest -q tests/review/test_async_review.py
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from adapters.hashing import Argon2PasswordHasher
from adapters.memory.unit_of_work_async import AsyncMemoryUnitOfWorkFactory
from domain.errors import (
    CommitOutcomeUnknown,
    DomainError,
    EmptyCart,
    InsufficientInventory,
    RollbackRequired,
    StorageUnavailable,
    TransactionAborted,
    UnitOfWorkBusy,
    UnitOfWorkMisuse,
)
from domain.model import NewProduct, NewUser
from domain.search import ProductQuery
from services.carts_async import AsyncCartService
from services.catalog_async import AsyncCatalogService
from shopdb.container import Container, close_async
from shopdb.settings import Settings

PG_BIN = Path("/usr/lib/postgresql/15/bin")
OWN_PORT = 27418
ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------------------------
# helpers


class CancelAt:
    """Awaits `coro`, cancelling the task that awaits it at the coroutine's n-th suspension
    (the n-th time it yields to the event loop): cancellation at every await, deterministically,
    without sleeps or timers."""

    def __init__(self, coro: Coroutine[Any, Any, Any], n: int) -> None:
        self.coro, self.n, self.suspensions, self.fired = coro, n, 0, False

    def __await__(self) -> Generator[Any, Any, Any]:
        send: Any = None
        thrown: BaseException | None = None
        while True:
            try:
                yielded = self.coro.throw(thrown) if thrown is not None else self.coro.send(send)
            except StopIteration as done:
                return done.value
            self.suspensions += 1
            if self.suspensions == self.n:
                self.fired = True
                task = asyncio.current_task()
                assert task is not None
                task.cancel()
            try:
                send, thrown = (yield yielded), None
            except BaseException as error:  # handed on to the coroutine
                send, thrown = None, error


def stored_stock(url: str, product_id: int) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT inventory_count FROM products WHERE id = %s", (product_id,))
        return int(row.fetchone()[0])  # type: ignore[index]


def sold_and_orders(url: str) -> tuple[int, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        sold = conn.execute("SELECT coalesce(sum(quantity), 0) FROM order_lines").fetchone()
        orders = conn.execute("SELECT count(*) FROM orders").fetchone()
        return int(sold[0]), int(orders[0])  # type: ignore[index]


def in_transaction_elsewhere(url: str) -> list[tuple[Any, ...]]:
    """Backends of this database sitting in a transaction (other than this check's own)."""
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT pid, state, left(query, 80) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND state LIKE 'idle in transaction%%'"
        ).fetchall()


@pytest.fixture(params=["memory", "postgres"])
def units(request: pytest.FixtureRequest) -> Any:
    """The async unit-of-work factory of each adapter, on an empty store."""
    if request.param == "memory":
        return AsyncMemoryUnitOfWorkFactory()
    return request.getfixturevalue("postgres_uow_async")


async def product(units: Any, stock: int, name: str = "Lamp") -> Any:
    async with units() as uow:
        made = await uow.products.add(
            NewProduct(name=name, price=Decimal("2.50"), inventory_count=stock)
        )
        await uow.commit()
    return made


async def stock_of(units: Any, product_id: int) -> int:
    async with units(read_only=True) as uow:
        stock: int = (await uow.products.get(product_id)).inventory_count
        return stock


async def user(units: Any, name: str = "buyer") -> Any:
    async with units() as uow:
        made = await uow.users.add(
            NewUser(username=name, email=f"{name}@example.com", password_hash="h" * 40)
        )
        await uow.commit()
    return made


# ---------------------------------------------------------------------------------------------
# Found: a savepoint block rolled back in one task discarded another task's successful write,
# and commit() then reported success. A write inside a block another task opened is refused.


async def test_a_write_inside_another_tasks_savepoint_block_is_refused(units: Any) -> None:
    a = await product(units, 1, "A")
    b = await product(units, 0, "B")
    in_block, b_tried = asyncio.Event(), asyncio.Event()
    b_saw: list[object] = []
    async with units() as uow:

        async def task_a() -> None:
            try:
                async with uow.savepoint():
                    await uow.products.reserve(a.id, 1)
                    in_block.set()
                    await b_tried.wait()
                    await uow.products.reserve(a.id, 5)  # InsufficientInventory
            except InsufficientInventory:
                pass  # caught outside the block, as the docs ask

        async def task_b() -> None:
            await in_block.wait()
            try:
                b_saw.append((await uow.products.restock(b.id, 7)).inventory_count)
            except UnitOfWorkMisuse as refused:
                b_saw.append(refused)
            finally:
                b_tried.set()

        await asyncio.gather(task_a(), task_b())
        await uow.products.restock(b.id, 2)  # task A's block is gone: writes go on
        await uow.commit()
    (refusal,) = b_saw  # task B was told: refused, so nothing it saw succeed is lost
    assert isinstance(refusal, UnitOfWorkMisuse), b_saw
    assert "another task" in str(refusal)
    assert await stock_of(units, b.id) == 2
    assert await stock_of(units, a.id) == 1


# ---------------------------------------------------------------------------------------------
# Found: a write started by another task while commit() (or rollback()) was in flight ran after
# the COMMIT with no transaction around it, and PostgreSQL stored it at once. Such a write is
# now refused (UnitOfWorkBusy) while the other is waiting on the server.


@pytest.mark.parametrize("ending", ["commit", "rollback"])
async def test_write_racing_commit_is_refused_or_not_stored_without_a_commit(
    units: Any, ending: str
) -> None:
    p = await product(units, 1)
    async with units() as uow:
        await uow.products.restock(p.id, 2)
        order: list[str] = []

        async def end() -> None:
            await getattr(uow, ending)()
            order.append(ending)

        async def late_write() -> None:
            await uow.products.restock(p.id, 100)
            order.append("restock")

        outcomes = await asyncio.gather(end(), late_write(), return_exceptions=True)
        # leave without commit(): whatever was written after the commit/rollback is undone
    print("completion order", order, outcomes)
    assert outcomes[0] is None
    expected = {"commit": 1 + 2, "rollback": 1}[ending]
    if isinstance(outcomes[1], UnitOfWorkBusy):
        assert order == [ending]  # refused while the COMMIT or ROLLBACK was on its way
    else:
        assert outcomes[1] is None
        assert order == [ending, "restock"]
    assert await stock_of(units, p.id) == expected, "a write never committed was stored"


# ---------------------------------------------------------------------------------------------
# Found: an async account service taken before close_async() raised RuntimeError.


@pytest.mark.parametrize("backend", ["memory", "postgres"])
async def test_account_service_taken_before_close_async_refuses_with_domain_error(
    backend: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("clean_database") if backend == "postgres" else None
    shop = Container(settings=Settings(DATABASE_URL=url, backend=backend))
    accounts = shop.async_accounts()
    name = f"u{uuid.uuid4().hex[:10]}"
    await accounts.register(name, f"{name}@example.com", "a long password")
    await close_async(shop)
    with pytest.raises(StorageUnavailable):
        await accounts.authenticate(name, "a long password")
    other = f"v{uuid.uuid4().hex[:10]}"
    with pytest.raises(StorageUnavailable):
        await accounts.register(other, f"{other}@example.com", "a long password")


# ---------------------------------------------------------------------------------------------
# Found: one container used from two event loops at once: nothing refused the second loop, and
# a connection given back in one loop never woke a waiter of the other. It is refused now.


def test_second_event_loop_is_refused_or_served(clean_database: str) -> None:
    shop = Container(
        settings=Settings(
            DATABASE_URL=clean_database, pool_timeout=60, pool_min_size=1, pool_max_size=1
        )
    )
    units = shop.async_unit_of_work()
    catalog = shop.async_catalog()
    holding, finished = threading.Event(), threading.Event()

    async def first_loop() -> None:
        async with units() as uow:
            await uow.products.search(ProductQuery())
            holding.set()
            pool = units.pool
            assert pool is not None
            while not finished.is_set() and pool.get_stats().get("requests_waiting", 0) == 0:
                await asyncio.sleep(0.01)  # polling another thread's state, not a timing
        # the connection is back in the pool now; this loop keeps running, idle
        while not finished.is_set():
            await asyncio.sleep(0.01)
        await close_async(shop)  # in the loop that opened the pool

    thread = threading.Thread(target=lambda: asyncio.run(first_loop()))
    thread.start()
    try:
        assert holding.wait(30)

        async def second_loop() -> str:
            task = asyncio.ensure_future(catalog.create_product("from loop 2", "1.00"))
            started = time.perf_counter()
            # hang detector only: the connection is free within milliseconds of the wait
            done, _ = await asyncio.wait({task}, timeout=10)
            print(f"second loop after {time.perf_counter() - started:.2f} s: done={bool(done)}")
            if not done:
                task.cancel()
                try:
                    await task
                    return "not woken; cancellation swallowed, completed anyway"
                except asyncio.CancelledError:
                    return "not woken"
                except DomainError as error:
                    return f"not woken; {error!r}"
            try:
                task.result()
            except DomainError as error:  # a refusal is acceptable
                return f"refused: {error}"
            return "served"

        outcome = asyncio.run(second_loop())
        print(outcome)
        assert outcome == "served" or outcome.startswith("refused")
    finally:
        finished.set()
        thread.join()


# ---------------------------------------------------------------------------------------------
# Guards: catch then carry on, savepoints, add_many's iterable


async def test_caught_failure_then_commit_is_refused(units: Any) -> None:
    p = await product(units, 1)
    async with units() as uow:
        await uow.products.restock(p.id, 3)
        with pytest.raises(InsufficientInventory):
            await uow.products.reserve(p.id, 50)
        with pytest.raises(RollbackRequired):
            await uow.products.restock(p.id, 1)
        with pytest.raises(RollbackRequired):
            await uow.commit()
        await uow.rollback()
    assert await stock_of(units, p.id) == 1


async def test_add_many_iterable_that_raises_stores_nothing_even_if_committed(units: Any) -> None:
    def rows() -> Iterator[NewProduct]:
        yield NewProduct(name="one", price=Decimal("1.00"))
        yield NewProduct(name="two", price=Decimal("1.00"))
        raise KeyError("the caller's source broke")

    async with units() as uow:
        with pytest.raises(KeyError):
            await uow.products.add_many(rows())
        with pytest.raises(RollbackRequired):
            await uow.commit()
    async with units(read_only=True) as uow:
        assert (await uow.products.search(ProductQuery())).items == ()


async def test_gather_in_one_unit_of_work_with_a_failure_commits_nothing(units: Any) -> None:
    p = await product(units, 1, "P")
    q = await product(units, 0, "Q")
    async with units() as uow:
        await uow.products.restock(p.id, 1)
        outcomes = await asyncio.gather(
            uow.products.reserve(p.id, 100),
            uow.products.restock(q.id, 5),
            return_exceptions=True,
        )
        print([type(o).__name__ for o in outcomes])
        with pytest.raises(RollbackRequired):
            await uow.commit()
    assert (await stock_of(units, p.id), await stock_of(units, q.id)) == (1, 0)


# ---------------------------------------------------------------------------------------------
# Guards: cancellation at every await


async def test_checkout_cancelled_at_every_await_then_retried(
    postgres_uow_async: Any, clean_database: str
) -> None:
    units = postgres_uow_async
    carts = AsyncCartService(units)
    lamp = await product(units, 1000)
    buyer = await user(units)
    n = 1
    while True:
        await carts.add_to_cart(buyer.id, lamp.id, 2)
        key = str(uuid.uuid4())
        attempt = CancelAt(carts.checkout(buyer.id, key), n)
        try:
            await asyncio.ensure_future(attempt)
            outcome = "done"
        except asyncio.CancelledError:
            outcome = "cancelled"
        assert in_transaction_elsewhere(clean_database) == []
        first = await carts.checkout(buyer.id, key)  # the retry with the same key
        assert await carts.checkout(buyer.id, key) == first
        sold, orders = sold_and_orders(clean_database)
        print(n, attempt.suspensions, outcome, "sold", sold, "orders", orders)
        assert orders == n
        assert sold == 2 * n == 1000 - stored_stock(clean_database, lamp.id)
        if not attempt.fired:
            break
        n += 1


async def test_write_cancelled_at_every_await_then_commit(units: Any) -> None:
    """asyncio.timeout around one call inside a unit of work, caught, then commit(): either the
    whole unit of work is refused, or everything the caller saw succeed is stored."""
    a = await product(units, 0, "A")
    b = await product(units, 1000, "B")
    n = 1
    while True:
        a0, b0 = await stock_of(units, a.id), await stock_of(units, b.id)
        seen: list[str] = []
        result = ""
        async with units() as uow:
            await uow.products.restock(a.id, 5)
            attempt = CancelAt(uow.products.reserve(b.id, 1), n)
            try:
                await attempt
                seen.append("reserve")
            except asyncio.CancelledError:
                task = asyncio.current_task()
                assert task is not None
                task.uncancel()  # as asyncio.timeout does
            try:
                await uow.commit()
                result = "committed"
            except TransactionAborted:
                result = "refused"
        moved = (await stock_of(units, a.id) - a0, b0 - await stock_of(units, b.id))
        print(n, attempt.suspensions, seen, result, moved)
        if result == "committed":
            assert moved == ((5, 1) if seen else (5, 0))
        else:
            assert moved == (0, 0)
        if not attempt.fired:
            break
        n += 1


async def test_taskgroup_failure_cancels_checkouts_without_partial_sales(
    postgres_uow_async: Any, clean_database: str
) -> None:
    units = postgres_uow_async
    carts = AsyncCartService(units)
    lamp = await product(units, 50)
    buyers = [await user(units, f"buyer{i}") for i in range(6)]
    for buyer in buyers:
        await carts.add_to_cart(buyer.id, lamp.id, 3)
    keys = {buyer.id: str(uuid.uuid4()) for buyer in buyers}
    started = asyncio.Event()

    async def fail_soon() -> None:
        await started.wait()
        raise RuntimeError("a sibling failed")

    async def buy(buyer_id: int) -> None:
        started.set()
        await carts.checkout(buyer_id, keys[buyer_id])

    with pytest.raises(ExceptionGroup):  # noqa: PT012 - the group is the statement
        async with asyncio.TaskGroup() as group:
            for buyer in buyers:
                group.create_task(buy(buyer.id))
            group.create_task(fail_soon())
    assert in_transaction_elsewhere(clean_database) == []
    for buyer in buyers:  # every retry with its key: each sells once
        order = await carts.checkout(buyer.id, keys[buyer.id])
        assert order.lines[0].quantity == 3
    sold, orders = sold_and_orders(clean_database)
    assert (sold, orders) == (18, 6)
    assert stored_stock(clean_database, lamp.id) == 50 - 18


# ---------------------------------------------------------------------------------------------
# Guards: exactly-once checkout under races, both adapters


async def test_concurrent_checkouts_sell_once(units: Any) -> None:
    carts = AsyncCartService(units)
    lamp = await product(units, 10)
    buyer = await user(units)
    await carts.add_to_cart(buyer.id, lamp.id, 4)
    key = str(uuid.uuid4())
    same_key = await asyncio.gather(*(carts.checkout(buyer.id, key) for _ in range(12)))
    assert len({order.id for order in same_key}) == 1
    await carts.add_to_cart(buyer.id, lamp.id, 4)
    other_keys = await asyncio.gather(
        *(carts.checkout(buyer.id, str(uuid.uuid4())) for _ in range(12)),
        return_exceptions=True,
    )
    orders = [o for o in other_keys if not isinstance(o, BaseException)]
    assert len(orders) == 1
    assert all(isinstance(o, EmptyCart) for o in other_keys if isinstance(o, BaseException))
    assert await stock_of(units, lamp.id) == 2


# ---------------------------------------------------------------------------------------------
# Guards: hostile input, the same answer from both adapters


HOSTILE: dict[str, Callable[[AsyncCatalogService, AsyncCartService], Awaitable[Any]]] = {
    "NUL in name": lambda c, s: c.create_product("a\x00b", "1.00"),
    "lone surrogate": lambda c, s: c.create_product("a\ud800b", "1.00"),
    "NaN price": lambda c, s: c.create_product("ok", "NaN"),
    "1e26 price": lambda c, s: c.create_product("ok", "1e26"),
    "float price": lambda c, s: c.create_product("ok", 1.5),  # type: ignore[arg-type]
    "bool id": lambda c, s: c.get_product(True),
    "2**63 id": lambda c, s: c.get_product(2**63),
    "limit True": lambda c, s: c.search("a", limit=True),
    "nested cursor": lambda c, s: c.search("a", cursor="W" * 100_000),
    "bytes key": lambda c, s: s.checkout(1, b"k"),  # type: ignore[arg-type]
    "101-char key": lambda c, s: s.checkout(1, "k" * 101),
    "quantity 2**63": lambda c, s: s.add_to_cart(1, 1, 2**63),
    "import of ints": lambda c, s: c.import_products([5]),  # type: ignore[list-item]
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
async def test_hostile_input_is_invalid_input_on_both_adapters(
    case: str, postgres_uow_async: Any
) -> None:
    answers = []
    message = ""
    for units in (AsyncMemoryUnitOfWorkFactory(), postgres_uow_async):
        await product(units, 5)
        await user(units)
        try:
            await HOSTILE[case](AsyncCatalogService(units), AsyncCartService(units))
            answers.append("accepted")
        except DomainError as error:
            answers.append(type(error).__name__)
            message = str(error)
        assert "\n" not in message
        assert len(message) <= 2000
    assert answers == ["InvalidInput", "InvalidInput"]


# ---------------------------------------------------------------------------------------------
# Guards: the loop is never blocked; sync and async side by side; close_async then reuse


class RecordingHasher:
    def __init__(self) -> None:
        self.inner = Argon2PasswordHasher()
        self.threads: set[int] = set()

    def hash(self, password: str) -> str:
        self.threads.add(threading.get_ident())
        return self.inner.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        self.threads.add(threading.get_ident())
        return self.inner.verify(password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self.inner.needs_rehash(password_hash)


async def test_password_hashing_runs_off_the_event_loop(clean_database: str) -> None:
    from dependency_injector import providers

    shop = Container(settings=Settings(DATABASE_URL=clean_database))
    hasher = RecordingHasher()
    shop.password_hasher.override(providers.Object(hasher))
    accounts = shop.async_accounts()
    lags: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append(time.perf_counter() - before - 0.01)

    ticking = asyncio.create_task(ticker())
    names = [f"u{uuid.uuid4().hex[:10]}" for _ in range(8)]
    await asyncio.gather(
        *(accounts.register(n, f"{n}@example.com", "a long password") for n in names)
    )
    await accounts.authenticate(names[0], "a long password")
    stop.set()
    await ticking
    print(f"8 registrations: {len(lags)} ticks, worst loop lag {max(lags):.3f} s")
    assert threading.get_ident() not in hasher.threads
    assert 1 <= len(hasher.threads) <= min(4, os.cpu_count() or 1)
    await close_async(shop)


@pytest.mark.parametrize("backend", ["memory", "postgres"])
async def test_sync_and_async_side_by_side_then_close_async_and_reuse(
    backend: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("clean_database") if backend == "postgres" else None
    shop = Container(settings=Settings(DATABASE_URL=url, backend=backend))
    shop.init_resources()
    try:
        lamp = shop.catalog().create_product("Lamp", "3.00", inventory_count=5)
        catalog = shop.async_catalog()
        assert (await catalog.get_product(lamp.id)).inventory_count == 5
        await catalog.restock(lamp.id, 2)
        assert shop.catalog().get_product(lamp.id).inventory_count == 7
        await close_async(shop)
        with pytest.raises(StorageUnavailable):
            await catalog.get_product(lamp.id)
        again = shop.async_catalog()
        assert (await again.restock(lamp.id, 1)).inventory_count == 8
        assert shop.catalog().get_product(lamp.id).inventory_count == 8
        await close_async(shop)
        await close_async(shop)  # twice is harmless
    finally:
        shop.shutdown_resources()


def test_container_reused_by_consecutive_event_loops(clean_database: str) -> None:
    """asyncio.run() twice on one container (what test clients do), closing in between."""
    shop = Container(settings=Settings(DATABASE_URL=clean_database))

    async def one_run(tag: str) -> int:
        made = await shop.async_catalog().create_product(tag, "1.00", inventory_count=1)
        await close_async(shop)
        return made.id

    assert asyncio.run(one_run("first")) < asyncio.run(one_run("second"))


# ---------------------------------------------------------------------------------------------
# Guard: a frozen server (our own, SIGSTOPped); every call ends within the documented bound,
# and the event loop keeps running meanwhile


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A PostgreSQL 15 of this module on 127.0.0.1:27418, migrated; its postmaster pid."""
    if not (PG_BIN / "initdb").exists():
        pytest.skip("no PostgreSQL 15 binaries")
    base = Path(f"/tmp/review_k_own_{os.getpid()}")  # noqa: S108 - a short socket path
    base.mkdir()
    as_postgres: list[str] = ["su", "postgres", "-c"] if os.geteuid() == 0 else ["sh", "-c"]
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    data = base / "data"

    def run(cmd: str) -> None:
        subprocess.run(  # noqa: S603 - our own command
            [*as_postgres, cmd], check=True, capture_output=True, timeout=120
        )

    run(f"{PG_BIN}/initdb -D {data} -A trust -U postgres")
    run(
        f"{PG_BIN}/pg_ctl -D {data} -w -l {base}/log -o "
        f"'-p {OWN_PORT} -k {base} -c listen_addresses=127.0.0.1' start"
    )
    try:
        admin = f"postgresql://postgres@127.0.0.1:{OWN_PORT}/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("CREATE DATABASE shop")
        url = f"postgresql://postgres@127.0.0.1:{OWN_PORT}/shop"
        subprocess.run(  # noqa: S603 - the project's own command
            [str(ROOT / ".venv/bin/shopdb"), "migrate"],
            env={**os.environ, "DATABASE_URL": url},
            check=True,
            capture_output=True,
            timeout=300,
        )
        pid = int((data / "postmaster.pid").read_text().split()[0])
        yield url, pid
    finally:
        run(f"{PG_BIN}/pg_ctl -D {data} -m immediate stop")
        shutil.rmtree(base, ignore_errors=True)


def server_processes(postmaster: int) -> list[int]:
    found = [postmaster]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == postmaster:
                found.append(int(entry))
    return found


def signal_all(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


@pytest.mark.parametrize("stage", ["checkout", "write", "commit", "idle-pool-check"])
async def test_frozen_server_every_call_ends_and_loop_runs(
    own_server: tuple[str, int], stage: str
) -> None:
    url, postmaster = own_server
    settings = Settings(
        DATABASE_URL=url,
        statement_timeout_ms=1000,
        deadline_margin_ms=500,
        pool_timeout=2,
        connect_timeout=2,
        idle_in_transaction_timeout_ms=3000,
        pool_min_size=1,
        pool_max_size=4,
    )
    shop = Container(settings=settings)
    units = shop.async_unit_of_work()
    carts = shop.async_carts()
    lamp = await product(units, 10)
    buyer = await user(units, f"b{uuid.uuid4().hex[:8]}")
    await carts.add_to_cart(buyer.id, lamp.id, 1)
    key = str(uuid.uuid4())
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            await asyncio.sleep(0.01)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    frozen = server_processes(postmaster)
    outcome: BaseException | None = None
    started = time.perf_counter()
    try:
        async with asyncio.timeout(60):  # a hang detector, far past the bound
            if stage == "checkout":
                signal_all(frozen, signal.SIGSTOP)
                await carts.checkout(buyer.id, key)
            elif stage == "idle-pool-check":
                await asyncio.sleep(0.3)  # past check_after_idle, so the pool checks it
                signal_all(frozen, signal.SIGSTOP)
                await shop.async_catalog().get_product(lamp.id)
            else:
                async with units() as uow:
                    await uow.products.restock(lamp.id, 1)
                    signal_all(frozen, signal.SIGSTOP)
                    if stage == "write":
                        await uow.products.restock(lamp.id, 1)
                    else:
                        await uow.commit()
    except DomainError as error:
        outcome = error
    finally:
        elapsed = time.perf_counter() - started
        signal_all(frozen, signal.SIGCONT)
        stop.set()
        await ticking
    print(f"{stage}: {elapsed:.2f} s, {ticks} ticks of the loop meanwhile, {outcome!r}")
    assert isinstance(outcome, StorageUnavailable)
    if stage == "commit":
        assert isinstance(outcome, CommitOutcomeUnknown)
    assert ticks > 0
    # the thawed server: a retry with the same key sells once
    if stage == "checkout":
        first = await carts.checkout(buyer.id, key)
        assert await carts.checkout(buyer.id, key) == first
        assert (await shop.async_catalog().get_product(lamp.id)).inventory_count == 9
    await close_async(shop)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
