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

from adapters.postgres import PoolConfig
from domain.errors import CommitOutcomeUnknown, DomainError, StorageUnavailable
from domain.model import NewProduct, NewUser
from services import AsyncCartService
from shopdb.embedded import ensure_database, server_url, start_server
from shopdb.migrations import upgrade
from shopdb.throwaway import throwaway_dir
from tests.concurrent_async import run_all
from tests.faults import DroppingProxy, frozen, server_processes

if True:  # ASYNC
    import asyncio
    import contextlib
    import itertools

    from adapters.postgres.async_pool import AsyncShopdbPool, create_pool_async
    from adapters.postgres.unit_of_work_async import AsyncPostgresUnitOfWorkFactory
    from ports.unit_of_work_async import AsyncUnitOfWork
else:
    from adapters.postgres import PostgresUnitOfWorkFactory, ShopdbPool, create_pool

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


async def _pool(url: str, **options: Any) -> AsyncShopdbPool:
    # The server is this module's own, reached directly whatever run this is.
    pool = create_pool_async(PoolConfig(conninfo=url, **{"min_size": 4, "max_size": 4, **options}))
    if True:  # ASYNC
        await pool.open(wait=True)
    else:
        pool.wait()
    return pool


async def _shop(uow: AsyncPostgresUnitOfWorkFactory, users: int) -> list[int]:
    tag = uuid.uuid4().hex[:8]
    async with uow() as work:
        product = await work.products.add(
            NewProduct(name=f"Lamp {tag}", price=Decimal("1.00"), inventory_count=1_000_000)
        )
        ids = []
        for n in range(users):
            name = f"u{tag}{n}"
            user = await work.users.add(
                NewUser(username=name, email=f"{name}@ex.com", password_hash="h")
            )
            ids.append(user.id)
        await work.commit()
    return [product.id, *ids]


async def test_a_frozen_server_never_holds_a_caller_past_the_deadlines(
    owned: tuple[Path, str],
) -> None:
    pgdata, url = owned
    pool = await _pool(url, **FAST)
    uow = AsyncPostgresUnitOfWorkFactory(pool)
    product, *users = await _shop(uow, 4)
    carts = AsyncCartService(uow)
    stop = threading.Event()
    calls: list[tuple[float, float, str]] = []  # started, ended, outcome
    in_flight: list[int] = []  # one entry per call under way
    left_waiting: list[int] = []
    frozen_at: list[float] = []

    async def shopper(user: int) -> None:
        while not stop.is_set():
            started = time.monotonic()
            in_flight.append(user)
            try:
                await carts.add_to_cart(user, product, 1)
                await carts.checkout(user)
                outcome = "ok"
            except DomainError as exc:
                outcome = f"{type(exc).__name__}: {exc}"
            finally:
                in_flight.remove(user)
            calls.append((started, time.monotonic(), outcome))
            if True:  # ASYNC
                await asyncio.sleep(0.01)
            else:
                time.sleep(0.01)

    async def freezer() -> None:
        if True:  # ASYNC
            await asyncio.sleep(0.5)
        else:
            time.sleep(0.5)
        with frozen(server_processes(pgdata)):
            frozen_at.append(time.monotonic())
            if True:  # ASYNC
                await asyncio.sleep(10)
            else:
                time.sleep(10)
            stop.set()  # no new calls; those under way must end while the server stays frozen
            if True:  # ASYNC
                await asyncio.sleep(6)  # more than the longest deadline (pool 3 s + check 2 s)
            else:
                time.sleep(6)  # more than the longest deadline (pool 3 s + check 2 s)
            left_waiting.extend(in_flight)

    await run_all([*(lambda u=u: shopper(u) for u in users), freezer])
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
    async with uow(read_only=True) as work:  # after the thaw the pool recovers
        assert (await work.products.get(product)).id == product
    await pool.close()


if True:  # ASYNC

    async def test_the_event_loop_runs_on_while_calls_wait_on_a_frozen_server(
        owned: tuple[Path, str],
    ) -> None:
        """Calls waiting on a frozen server wait in the event loop, not in a thread of their
        own: another task ticks on throughout, no thread starts while they wait (the deadlines
        are the pool's one watchdog thread), and each call ends with StorageUnavailable within
        the documented bound (statement timeout + margin + the watchdog's 0.2 s tick)."""
        pgdata, url = owned
        pool = await _pool(url, **FAST)
        uow = AsyncPostgresUnitOfWorkFactory(pool)
        product = (await _shop(uow, 0))[0]
        bound = FAST["statement_timeout_ms"] / 1000 + FAST["deadline_margin"] + 0.2
        ticks: list[float] = []
        threads_while_waiting: list[set[threading.Thread]] = []
        threads_before: set[threading.Thread] = set()

        async def ticker() -> None:
            while True:
                ticks.append(time.monotonic())
                if len(ticks) == 10:  # the calls have been waiting for ~0.1 s
                    threads_while_waiting.append(set(threading.enumerate()))
                await asyncio.sleep(0.01)

        async def call(work: AsyncUnitOfWork) -> tuple[float, DomainError | None]:
            started = time.monotonic()
            try:
                await work.products.get(product)
            except DomainError as exc:
                return time.monotonic() - started, exc
            return time.monotonic() - started, None

        async with contextlib.AsyncExitStack() as stack:
            # Every connection of the pool taken, each known alive, before the freeze.
            works = [await stack.enter_async_context(uow(read_only=True)) for _ in range(4)]
            for work in works:
                await work.products.get(product)
            threads_before = set(threading.enumerate())
            with frozen(server_processes(pgdata)):
                beat = asyncio.create_task(ticker())
                started = time.monotonic()
                outcomes = await asyncio.gather(*(call(work) for work in works))
                ended = time.monotonic()
                beat.cancel()
            await asyncio.gather(beat, return_exceptions=True)
        during = [t for t in ticks if started <= t <= ended]
        gaps = [b - a for a, b in itertools.pairwise(during)]
        print(
            f"\n4 calls on a frozen server ended after"
            f" {', '.join(f'{took:.3f}' for took, _ in outcomes)} s (bound {bound:.1f} s);"
            f" meanwhile another task ticked {len(during)} times, its longest gap"
            f" {max(gaps):.3f} s; threads {len(threads_before)} before, "
            f"{len(threads_while_waiting[0])} while waiting"
        )
        assert threads_while_waiting[0] == threads_before  # no thread per call
        assert all(isinstance(exc, StorageUnavailable) for _, exc in outcomes), outcomes
        assert all("no answer from the database within 1.5 s" in str(e) for _, e in outcomes)
        assert all(took <= bound for took, _ in outcomes)
        # The loop was never held for the length of a wait: the ticker kept its pace.
        assert len(during) > (ended - started) / 0.01 / 4
        assert max(gaps) < 0.5
        async with uow(read_only=True) as work:  # after the thaw the pool recovers
            assert (await work.products.get(product)).id == product
        await pool.close()

    async def test_a_call_cancelled_while_it_waits_on_a_frozen_server_ends_within_the_bound(
        owned: tuple[Path, str],
    ) -> None:
        """A caller's own timeout (`asyncio.timeout`) fires while its call waits on a frozen
        server: the task ends with the cancellation (TimeoutError from the timeout), within the
        statement's bound, and the pool recovers once the server does."""
        pgdata, url = owned
        pool = await _pool(url, **FAST, min_size=1, max_size=1)
        uow = AsyncPostgresUnitOfWorkFactory(pool)
        product = (await _shop(uow, 0))[0]
        bound = FAST["statement_timeout_ms"] / 1000 + FAST["deadline_margin"] + 0.2
        outcomes: list[tuple[float, BaseException | None]] = []
        try:  # closed whatever happens: an async pool left open can hold up the loop's end
            for write in (False, True):
                async with uow() as work:
                    await work.products.get(product)  # the connection is taken and answers
                    with frozen(server_processes(pgdata)):
                        started = time.monotonic()
                        try:
                            async with asyncio.timeout(0.3):
                                if write:
                                    await work.products.restock(product, 1)
                                else:
                                    await work.products.get(product)
                        except (TimeoutError, DomainError) as exc:
                            outcomes.append((time.monotonic() - started, exc))
                        else:
                            outcomes.append((time.monotonic() - started, None))
            async with uow(read_only=True) as work:  # after the thaw the pool recovers
                stock = (await work.products.get(product)).inventory_count
        finally:
            await pool.close()
        print(
            "\ncancelled at 0.3 s on a frozen server (a read, a write): ended after"
            f" {', '.join(f'{took:.2f} s ({type(exc).__name__})' for took, exc in outcomes)};"
            f" bound {bound:.1f} s"
        )
        assert all(isinstance(exc, TimeoutError) for _, exc in outcomes)
        assert stock == 1_000_000  # the cancelled write took nothing
        assert all(took <= bound for took, _ in outcomes)


async def test_an_idle_pool_on_a_frozen_server_fails_within_the_deadlines(
    owned: tuple[Path, str],
) -> None:
    pgdata, url = owned
    pool = await _pool(url, **FAST, check_after_idle=0.0)
    uow = AsyncPostgresUnitOfWorkFactory(pool)
    product = (await _shop(uow, 0))[0]
    outcome: list[BaseException] = []
    with frozen(server_processes(pgdata)):
        started = time.monotonic()
        try:
            async with uow(read_only=True) as work:
                await work.products.get(product)
        except DomainError as exc:
            outcome.append(exc)
        took = time.monotonic() - started
    print(
        f"\nidle pool, frozen server: {type(outcome[0]).__name__} after {took:.2f} s: {outcome[0]}"
    )
    assert isinstance(outcome[0], StorageUnavailable)
    async with uow(read_only=True) as work:  # recovers once the server does
        assert (await work.products.get(product)).id == product
    await pool.close()


async def test_a_lost_commit_answer_is_an_unknown_outcome_not_a_failure(
    owned: tuple[Path, str],
) -> None:
    _, url = owned
    proxy = DroppingProxy(url, "COMMIT")
    pool = await _pool(proxy.client_url(), **FAST, min_size=1, max_size=1)
    uow = AsyncPostgresUnitOfWorkFactory(pool)
    tag = uuid.uuid4().hex[:8]
    unknown: list[CommitOutcomeUnknown] = []
    for attempt in range(6):  # past psycopg's prepare threshold: COMMIT is then bound by name
        if attempt == 5:
            proxy.arm()
        try:
            async with uow() as work:
                await work.products.add(
                    NewProduct(name=f"Sold {tag} {attempt}", price=Decimal("1"))
                )
                await work.commit()
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
    await pool.close()
    proxy.close()


async def test_a_lost_answer_to_an_autocommitted_write_is_an_unknown_outcome(
    owned: tuple[Path, str],
) -> None:
    """A one-statement write in an autocommit unit of work is its own commit."""
    _, url = owned
    proxy = DroppingProxy(url, "INSERT INTO PRODUCTS")
    pool = await _pool(proxy.client_url(), **FAST, min_size=1, max_size=1)
    uow = AsyncPostgresUnitOfWorkFactory(pool)
    name = f"Autocommitted {uuid.uuid4().hex[:8]}"
    proxy.arm()
    async with uow(autocommit=True) as work:
        with pytest.raises(CommitOutcomeUnknown):
            await work.products.add(NewProduct(name=name, price=Decimal("1")))
    assert proxy.answered.wait(10)  # the server has run the INSERT it was sent
    with psycopg.connect(url) as conn:
        stored = conn.execute("SELECT count(*) FROM products WHERE name = %s", (name,)).fetchone()
    print(f"\nINSERT answer dropped in autocommit: stored {stored}")
    assert stored == (1,)
    await pool.close()
    proxy.close()


async def test_a_lost_answer_before_commit_is_plainly_unavailable(
    owned: tuple[Path, str],
) -> None:
    _, url = owned
    proxy = DroppingProxy(url, "BEGIN")
    pool = await _pool(proxy.client_url(), **FAST, min_size=1, max_size=1)
    uow = AsyncPostgresUnitOfWorkFactory(pool)
    proxy.arm()
    async with uow() as work:
        with pytest.raises(StorageUnavailable) as info:
            await work.products.add(NewProduct(name="Never", price=Decimal("1")))
    print(f"\nBEGIN answer dropped: {type(info.value).__name__}: {info.value}")
    assert not isinstance(info.value, CommitOutcomeUnknown)
    await pool.close()
    proxy.close()


async def test_running_out_of_connections_names_the_servers_reason(
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
    pool = create_pool_async(PoolConfig(conninfo=limited, min_size=0, max_size=2, timeout=2.0))
    if True:  # ASYNC
        await pool.open()
    uow = AsyncPostgresUnitOfWorkFactory(pool)
    async with uow(read_only=True) as first:
        await first.products.get_many([1])
        with pytest.raises(StorageUnavailable) as info:
            async with uow(read_only=True):
                pass
    print(f"\nno connection: {info.value}")
    assert "too many connections" in str(info.value)
    await pool.close()


async def test_a_stalled_server_is_not_blamed_on_an_idle_client(owned: tuple[Path, str]) -> None:
    _, url = owned
    app = f"stall-{uuid.uuid4().hex[:8]}"
    options = {**FAST, "idle_in_transaction_timeout_ms": 1000, "statement_timeout_ms": 10_000}
    pool = await _pool(url, **options, application_name=app, min_size=1, max_size=1)
    uow = AsyncPostgresUnitOfWorkFactory(pool)
    product = (await _shop(uow, 0))[0]
    errors: list[DomainError] = []
    async with uow() as work:
        await work.products.restock(product, 1)  # the transaction is open, its backend idle in it
        with psycopg.connect(url, autocommit=True) as admin:
            row = admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (app,)
            ).fetchone()
        assert row is not None

        async def next_statement() -> None:
            try:
                await work.products.restock(product, 1)
            except DomainError as exc:
                errors.append(exc)

        with frozen([row[0]]):  # the backend stalls past its idle timeout, the client does not
            if True:  # ASYNC
                sender = asyncio.create_task(next_statement())
                await asyncio.sleep(2.5)
            else:
                sender = threading.Thread(target=next_statement)
                sender.start()
                time.sleep(2.5)
        if True:  # ASYNC
            await asyncio.wait_for(sender, 15)
        else:
            sender.join(15)
    print(f"\nbackend stalled 2.5 s with a 1 s idle timeout: {errors}")
    assert len(errors) == 1
    assert isinstance(errors[0], StorageUnavailable)
    assert "the server was stalled" in str(errors[0])
    await pool.close()


async def test_a_frozen_client_holds_its_row_locks_only_for_the_idle_timeout(
    owned: tuple[Path, str],
) -> None:
    """A client that stops between two statements (frozen, crashed, slow) while holding a
    product's row lock: checkouts of that product wait for the server's idle timeout, no longer."""
    _, url = owned
    # The waiter's own statement_timeout is longer than the holder's idle timeout.
    options = {**FAST, "idle_in_transaction_timeout_ms": 1000, "statement_timeout_ms": 5000}
    pool = await _pool(url, **options)
    uow = AsyncPostgresUnitOfWorkFactory(pool)
    product, user = await _shop(uow, 1)
    carts = AsyncCartService(uow)
    await carts.add_to_cart(user, product, 1)
    waited: list[float] = []
    async with uow() as holder:
        await holder.products.reserve(product, 1)  # the row is locked; the holder goes quiet
        started = time.monotonic()
        await carts.checkout(
            user
        )  # waits for the lock until the server ends the holder's transaction
        waited.append(time.monotonic() - started)
        with pytest.raises(StorageUnavailable, match="idle"):
            await holder.products.reserve(product, 1)
    print(f"\ncheckout behind a silent lock holder (idle timeout 1 s) waited {waited[0]:.2f} s")
    async with uow(read_only=True) as work:  # only the checkout's unit was taken
        assert (await work.products.get(product)).inventory_count == 1_000_000 - 1
    await pool.close()


async def test_the_statement_deadline_while_the_applications_own_threads_burn_cpu(
    owned: tuple[Path, str],
) -> None:
    """The watchdog and the waiting caller are Python threads: while the application's other
    threads keep the interpreter busy, each waits for the GIL before it can act. This measures
    how far past the documented bound (statement timeout + margin + one tick) a call on a
    frozen server ends with 4 threads burning CPU; README "Deadlines" states the bound that
    holds. It prints the figures; the outcome is what it asserts."""
    pgdata, url = owned
    pool = await _pool(url, **FAST, min_size=1, max_size=1)
    uow = AsyncPostgresUnitOfWorkFactory(pool)
    product = (await _shop(uow, 0))[0]
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
            async with uow(read_only=True) as work:
                await work.products.get(product)  # the connection is taken and answers
                with frozen(server_processes(pgdata)):
                    started = time.monotonic()
                    try:
                        await work.products.get(product)
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
    async with uow(read_only=True) as work:  # after the thaw the pool recovers
        assert (await work.products.get(product)).id == product
    await pool.close()
