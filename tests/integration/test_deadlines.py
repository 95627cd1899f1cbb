# Generated from test_deadlines_async.py (tools/generate_sync.py): edit that instead.
"""Deadlines and honest outcomes, on a throwaway embedded PostgreSQL this module owns: a frozen
server (SIGSTOP of every server process) never holds a caller past the configured deadlines,
a lost COMMIT answer is reported as an unknown outcome, and errors name their real cause.
Each test prints the worst call it saw."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from adapters.postgres import PoolConfig, PostgresUnitOfWorkFactory, ShopdbPool, create_pool
from domain.errors import CommitOutcomeUnknown, DomainError, StorageUnavailable
from domain.model import NewProduct, NewUser
from services import CartService
from shopdb.embedded import ensure_database, server_url, start_server
from shopdb.migrations import upgrade
from shopdb.throwaway import throwaway_dir
from tests.concurrent import run_all
from tests.faults import DroppingProxy, frozen, server_processes

FAST = {
    "statement_timeout_ms": 1000,
    "deadline_margin": 0.5,
    "connect_timeout": 2,
    "timeout": 3.0,
    "idle_in_transaction_timeout_ms": 5000,
}


@pytest.fixture(scope="module")
def owned() -> Iterator[tuple[Path, str]]:
    with throwaway_dir() as root:
        pgdata = root / "pgdata"
        handle = start_server(pgdata, delete_on_exit=True)
        ensure_database(server_url(handle), "shop")
        url = server_url(handle, "shop")
        upgrade(url)
        yield pgdata, url
        handle.cleanup()


def _pool(url: str, **options: Any) -> ShopdbPool:
    # The server is this module's own, reached directly whatever run this is.
    pool = create_pool(PoolConfig(conninfo=url, **{"min_size": 4, "max_size": 4, **options}))
    pool.wait()
    return pool


def _shop(uow: PostgresUnitOfWorkFactory, users: int) -> list[int]:
    tag = uuid.uuid4().hex[:8]
    with uow() as work:
        product = work.products.add(
            NewProduct(name=f"Lamp {tag}", price=Decimal("1.00"), inventory_count=1_000_000)
        )
        ids = []
        for n in range(users):
            name = f"u{tag}{n}"
            user = work.users.add(NewUser(username=name, email=f"{name}@ex.com", password_hash="h"))
            ids.append(user.id)
        work.commit()
    return [product.id, *ids]


def test_a_frozen_server_never_holds_a_caller_past_the_deadlines(
    owned: tuple[Path, str],
) -> None:
    pgdata, url = owned
    pool = _pool(url, **FAST)
    uow = PostgresUnitOfWorkFactory(pool)
    product, *users = _shop(uow, 4)
    carts = CartService(uow)
    stop = threading.Event()
    calls: list[tuple[float, float, str]] = []  # started, ended, outcome
    in_flight: list[int] = []  # one entry per call under way
    left_waiting: list[int] = []
    frozen_at: list[float] = []

    def shopper(user: int) -> None:
        while not stop.is_set():
            started = time.monotonic()
            in_flight.append(user)
            try:
                carts.add_to_cart(user, product, 1)
                carts.checkout(user)
                outcome = "ok"
            except DomainError as exc:
                outcome = f"{type(exc).__name__}: {exc}"
            finally:
                in_flight.remove(user)
            calls.append((started, time.monotonic(), outcome))
            time.sleep(0.01)

    def freezer() -> None:
        time.sleep(0.5)
        with frozen(server_processes(pgdata)):
            frozen_at.append(time.monotonic())
            time.sleep(10)
            stop.set()  # no new calls; those under way must end while the server stays frozen
            time.sleep(6)  # more than the longest deadline (pool 3 s + check 2 s)
            left_waiting.extend(in_flight)

    run_all([*(lambda u=u: shopper(u) for u in users), freezer])
    # A call whose answers were all in before the freeze may end just after it.
    during = [(s, e, o) for s, e, o in calls if e > frozen_at[0] + 0.2]
    worst = max(e - max(s, frozen_at[0]) for s, e, _ in during)
    kinds = sorted({o.split(":")[0] for _, _, o in during})
    print(f"\nserver frozen 16 s under 4 shoppers: {len(during)} calls met the frozen server;")
    print(f"  longest wait on it {worst:.2f} s; outcomes {kinds}")
    for _, _, outcome in during[:2]:
        print("  e.g.", outcome)
    assert during
    assert left_waiting == []  # nobody still waited when the server came back
    assert all(o.startswith(("StorageUnavailable", "CommitOutcomeUnknown")) for _, _, o in during)
    with uow(read_only=True) as work:  # after the thaw the pool recovers
        assert work.products.get(product).id == product
    pool.close()


def test_an_idle_pool_on_a_frozen_server_fails_within_the_deadlines(
    owned: tuple[Path, str],
) -> None:
    pgdata, url = owned
    pool = _pool(url, **FAST, check_after_idle=0.0)
    uow = PostgresUnitOfWorkFactory(pool)
    product = _shop(uow, 0)[0]
    outcome: list[BaseException] = []
    with frozen(server_processes(pgdata)):
        started = time.monotonic()
        try:
            with uow(read_only=True) as work:
                work.products.get(product)
        except DomainError as exc:
            outcome.append(exc)
        took = time.monotonic() - started
    print(
        f"\nidle pool, frozen server: {type(outcome[0]).__name__} after {took:.2f} s: {outcome[0]}"
    )
    assert isinstance(outcome[0], StorageUnavailable)
    with uow(read_only=True) as work:  # recovers once the server does
        assert work.products.get(product).id == product
    pool.close()


def test_a_lost_commit_answer_is_an_unknown_outcome_not_a_failure(
    owned: tuple[Path, str],
) -> None:
    _, url = owned
    proxy = DroppingProxy(url, "COMMIT")
    pool = _pool(proxy.client_url(), **FAST, min_size=1, max_size=1)
    uow = PostgresUnitOfWorkFactory(pool)
    tag = uuid.uuid4().hex[:8]
    unknown: list[CommitOutcomeUnknown] = []
    for attempt in range(6):  # past psycopg's prepare threshold: COMMIT is then bound by name
        if attempt == 5:
            proxy.arm()
        try:
            with uow() as work:
                work.products.add(NewProduct(name=f"Sold {tag} {attempt}", price=Decimal("1")))
                work.commit()
        except CommitOutcomeUnknown as exc:
            unknown.append(exc)
    assert proxy.fired.is_set()
    print(f"\nCOMMIT answer dropped: {unknown}")
    assert len(unknown) == 1
    assert proxy.answered.wait(10)  # the server has run the COMMIT it was sent
    with psycopg.connect(url) as conn:  # it did happen
        stored = conn.execute(
            "SELECT count(*) FROM products WHERE name LIKE %s", (f"Sold {tag} %",)
        ).fetchone()
    assert stored == (6,)
    pool.close()
    proxy.close()


def test_a_lost_answer_to_an_autocommitted_write_is_an_unknown_outcome(
    owned: tuple[Path, str],
) -> None:
    """A one-statement write in an autocommit unit of work is its own commit."""
    _, url = owned
    proxy = DroppingProxy(url, "INSERT INTO PRODUCTS")
    pool = _pool(proxy.client_url(), **FAST, min_size=1, max_size=1)
    uow = PostgresUnitOfWorkFactory(pool)
    name = f"Autocommitted {uuid.uuid4().hex[:8]}"
    proxy.arm()
    with uow(autocommit=True) as work, pytest.raises(CommitOutcomeUnknown):
        work.products.add(NewProduct(name=name, price=Decimal("1")))
    assert proxy.answered.wait(10)  # the server has run the INSERT it was sent
    with psycopg.connect(url) as conn:
        stored = conn.execute("SELECT count(*) FROM products WHERE name = %s", (name,)).fetchone()
    print(f"\nINSERT answer dropped in autocommit: stored {stored}")
    assert stored == (1,)
    pool.close()
    proxy.close()


def test_a_lost_answer_before_commit_is_plainly_unavailable(
    owned: tuple[Path, str],
) -> None:
    _, url = owned
    proxy = DroppingProxy(url, "BEGIN")
    pool = _pool(proxy.client_url(), **FAST, min_size=1, max_size=1)
    uow = PostgresUnitOfWorkFactory(pool)
    proxy.arm()
    with uow() as work, pytest.raises(StorageUnavailable) as info:
        work.products.add(NewProduct(name="Never", price=Decimal("1")))
    print(f"\nBEGIN answer dropped: {type(info.value).__name__}: {info.value}")
    assert not isinstance(info.value, CommitOutcomeUnknown)
    pool.close()
    proxy.close()


def test_running_out_of_connections_names_the_servers_reason(
    owned: tuple[Path, str],
) -> None:
    _, url = owned
    role = f"limited_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN CONNECTION LIMIT 1").format(sql.Identifier(role))
        )
        admin.execute(
            sql.SQL("GRANT ALL ON ALL TABLES IN SCHEMA public TO {}").format(sql.Identifier(role))
        )
    limited = psycopg.conninfo.make_conninfo(url, user=role)
    pool = create_pool(PoolConfig(conninfo=limited, min_size=0, max_size=2, timeout=2.0))
    uow = PostgresUnitOfWorkFactory(pool)
    with uow(read_only=True) as first:
        first.products.get_many([1])
        with pytest.raises(StorageUnavailable) as info, uow(read_only=True):
            pass
    print(f"\nno connection: {info.value}")
    assert "too many connections" in str(info.value)
    pool.close()


def test_a_stalled_server_is_not_blamed_on_an_idle_client(owned: tuple[Path, str]) -> None:
    _, url = owned
    app = f"stall-{uuid.uuid4().hex[:8]}"
    options = {**FAST, "idle_in_transaction_timeout_ms": 1000, "statement_timeout_ms": 10_000}
    pool = _pool(url, **options, application_name=app, min_size=1, max_size=1)
    uow = PostgresUnitOfWorkFactory(pool)
    product = _shop(uow, 0)[0]
    errors: list[DomainError] = []
    with uow() as work:
        work.products.restock(product, 1)  # the transaction is open, its backend idle in it
        with psycopg.connect(url, autocommit=True) as admin:
            row = admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (app,)
            ).fetchone()
        assert row is not None

        def next_statement() -> None:
            try:
                work.products.restock(product, 1)
            except DomainError as exc:
                errors.append(exc)

        with frozen([row[0]]):  # the backend stalls past its idle timeout, the client does not
            sender = threading.Thread(target=next_statement)
            sender.start()
            time.sleep(2.5)
        sender.join(15)
    print(f"\nbackend stalled 2.5 s with a 1 s idle timeout: {errors}")
    assert len(errors) == 1
    assert isinstance(errors[0], StorageUnavailable)
    assert "the server was stalled" in str(errors[0])
    pool.close()


def test_a_frozen_client_holds_its_row_locks_only_for_the_idle_timeout(
    owned: tuple[Path, str],
) -> None:
    """A client that stops between two statements (frozen, crashed, slow) while holding a
    product's row lock: checkouts of that product wait for the server's idle timeout, no longer."""
    _, url = owned
    # The waiter's own statement_timeout is longer than the holder's idle timeout.
    options = {**FAST, "idle_in_transaction_timeout_ms": 1000, "statement_timeout_ms": 5000}
    pool = _pool(url, **options)
    uow = PostgresUnitOfWorkFactory(pool)
    product, user = _shop(uow, 1)
    carts = CartService(uow)
    carts.add_to_cart(user, product, 1)
    waited: list[float] = []
    with uow() as holder:
        holder.products.reserve(product, 1)  # the row is locked; the holder goes quiet
        started = time.monotonic()
        carts.checkout(user)  # waits for the lock until the server ends the holder's transaction
        waited.append(time.monotonic() - started)
        with pytest.raises(StorageUnavailable, match="idle"):
            holder.products.reserve(product, 1)
    print(f"\ncheckout behind a silent lock holder (idle timeout 1 s) waited {waited[0]:.2f} s")
    with uow(read_only=True) as work:  # only the checkout's unit was taken
        assert work.products.get(product).inventory_count == 1_000_000 - 1
    pool.close()


def test_the_statement_deadline_while_the_applications_own_threads_burn_cpu(
    owned: tuple[Path, str],
) -> None:
    """The watchdog and the waiting caller are Python threads: while the application's other
    threads keep the interpreter busy, each waits for the GIL before it can act. This measures
    how far past the documented bound (statement timeout + margin + one tick) a call on a
    frozen server ends with 4 threads burning CPU; README "Deadlines" states the bound that
    holds. It prints the figures; the outcome is what it asserts."""
    pgdata, url = owned
    pool = _pool(url, **FAST, min_size=1, max_size=1)
    uow = PostgresUnitOfWorkFactory(pool)
    product = _shop(uow, 0)[0]
    bound = FAST["statement_timeout_ms"] / 1000 + FAST["deadline_margin"] + 0.2
    stop = threading.Event()

    def burn() -> None:
        while not stop.is_set():
            sum(range(2_000))

    burners = [threading.Thread(target=burn, daemon=True) for _ in range(4)]
    for burner in burners:
        burner.start()
    overshoots: list[float] = []
    outcomes: list[DomainError] = []
    try:
        for _ in range(5):
            with uow(read_only=True) as work:
                work.products.get(product)  # the connection is taken and answers
                with frozen(server_processes(pgdata)):
                    started = time.monotonic()
                    try:
                        work.products.get(product)
                    except DomainError as exc:
                        outcomes.append(exc)
                    overshoots.append(time.monotonic() - started - bound)
    finally:
        stop.set()
        for burner in burners:
            burner.join()
    print(
        f"\nfrozen server, 4 threads burning CPU: calls ended {min(overshoots):+.3f} to"
        f" {max(overshoots):+.3f} s past the bound of {bound:.1f} s"
        f" ({', '.join(f'{o:+.3f}' for o in overshoots)})"
    )
    assert len(outcomes) == 5
    assert all(isinstance(exc, StorageUnavailable) for exc in outcomes)
    assert all("no answer from the database within 1.5 s" in str(exc) for exc in outcomes)
    with uow(read_only=True) as work:  # after the thaw the pool recovers
        assert work.products.get(product).id == product
    pool.close()
