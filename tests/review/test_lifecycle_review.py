"""The unit of work's lifecycle on both adapters, written from the README and the port
docstrings as a user would write the calls: refusals, failed reads and writes, savepoint
blocks, bulk imports fed by misbehaving iterables, autocommit and read-only units of work.

Each test says whether it exposed a defect (fixed since, and held fixed here) or guards a
rule that was checked to hold on both adapters."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import psycopg
import pytest

from adapters.memory import MemoryUnitOfWorkFactory
from adapters.memory.database import MemoryDatabase
from adapters.postgres import PostgresUnitOfWorkFactory, create_pool
from domain.errors import (
    InsufficientInventory,
    InvalidInput,
    RollbackRequired,
    StorageUnavailable,
    UnitOfWorkBusy,
    UnitOfWorkMisuse,
)
from domain.model import NewProduct
from ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from shopdb.testdb import pool_config
from tests.contract.helpers import add_product, add_user
from tests.review.sidebyside import Boom, Trace, both, row, short_timeout, stock


def _live_products(uow: UnitOfWorkFactory) -> int:
    with uow(read_only=True) as work:
        return len(work.products.get_many(list(range(1, 100))))


def _events(trace: Trace) -> list[tuple[str, str]]:
    """Each call's label and outcome class (messages differ in wording between adapters)."""
    return [(label, kind) for label, kind, _ in trace.events]


# Defects -----------------------------------------------------------------------------------


@contextmanager
def _adapter(
    request: pytest.FixtureRequest, name: str
) -> Iterator[tuple[UnitOfWorkFactory, UnitOfWorkFactory]]:
    """(the test's factory, one whose waits for a lock give up after about half a second)."""
    if name == "memory":
        fake = MemoryUnitOfWorkFactory(MemoryDatabase(lock_timeout=0.5))
        yield fake, fake
        return
    postgres: UnitOfWorkFactory = request.getfixturevalue("postgres_uow")
    with short_timeout(request.getfixturevalue("clean_database")) as short:
        yield postgres, short


def test_a_locking_read_that_times_out_before_any_write_refuses_nothing_on_either_adapter(
    request: pytest.FixtureRequest,
) -> None:
    """DEFECT, fixed (PostgreSQL; the adapters disagreed). Smallest reproduction: another
    unit of work holds the user's cart locked (`find_for_user(lock=True)`); ours, with
    nothing written yet, calls `find_for_user(lock=True)`, which gives up waiting
    (StorageUnavailable); the holder ends; ours then restocks a product and commits.

    The port: "a read the database fails (StorageUnavailable, TransientConflict) rolls back the
    transaction around it ... and refuses writes in the same way when that discarded writes.
    Reads go on either way." Nothing was written, so nothing was discarded.

    Fake: the restock succeeds and the commit stores it (stock 12). PostgreSQL: the restock and
    the commit raise RollbackRequired naming "a write (StorageUnavailable)", a call the caller
    never made (the locking read runs as a write there), and nothing is stored (stock 10). Code
    tested on the fake, which catches the timeout and goes on, fails on PostgreSQL. Expected:
    one outcome on both adapters; by the port's words, the fake's."""
    outcomes = {}
    for name in ("memory", "postgres"):
        with _adapter(request, name) as (uow, short):
            outcomes[name] = _locking_read_times_out_then_write(uow, short)
    print("\nmemory:  ", *outcomes["memory"], "postgres:", *outcomes["postgres"], sep="\n  ")
    assert [e[:2] for e in outcomes["postgres"]] == [e[:2] for e in outcomes["memory"]]
    assert outcomes["postgres"][-1] == ("stock", "ok", "12")


@pytest.mark.parametrize(
    "flags",
    [{"read_only": "false"}, {"autocommit": "no"}, {"autocommit": 1}, {"read_only": None}],
    ids=["read_only-str", "autocommit-str", "autocommit-int", "read_only-None"],
)
def test_the_factory_refuses_flags_that_are_not_bools(
    uow: UnitOfWorkFactory, flags: dict[str, Any]
) -> None:
    """DEFECT, fixed (both adapters alike). README: "Every public argument is its declared type or
    InvalidInput, on both adapters" (`in_stock_only` refuses "yes" and 1); REVIEW.md: types are
    checked, not coerced. The factory's `read_only` and `autocommit` are `bool`, but any value
    is taken by truthiness: `units(read_only="false")` makes a read-only unit of work (its
    writes raise ReadOnlyViolation), and `units(autocommit="no")` commits every call by itself,
    so a failed write no longer takes the earlier ones with it (observed: a restock stays
    stored although the unit of work is left without commit()). A flag read from a
    configuration string silently changes the transaction semantics. Expected: InvalidInput
    from the factory call or at `with`, nothing stored."""
    lamp = add_product(uow, inventory=10)
    with pytest.raises(InvalidInput), uow(**flags) as work:
        work.products.restock(lamp.id, 1)  # never committed
    assert stock(uow, lamp.id) == 10


def test_entering_a_savepoint_block_twice_is_misuse_not_an_inactive_unit_of_work(
    uow: UnitOfWorkFactory,
) -> None:
    """DEFECT, fixed (both adapters alike; the wrong error). The port: "A block is entered and left
    once", and UnitOfWorkMisuse is "a call that the unit of work's state does not allow";
    UnitOfWorkNotActive is for a unit of work used "before `with` entered it or after it
    exited". Entering a block that is open already (or one left already) inside the active
    unit of work raises UnitOfWorkNotActive on both adapters, whose message tells the caller to
    use the unit of work "inside its `with` block", where it is. Leaving a block twice is
    already UnitOfWorkMisuse. The unit of work goes on correctly afterwards (checked here)."""
    lamp = add_product(uow, inventory=10)
    with uow() as work:
        block = work.savepoint()
        block.__enter__()
        work.products.restock(lamp.id, 1)
        again = _raised(block.__enter__)
        block.__exit__(None, None, None)
        after = _raised(block.__enter__)
        work.products.restock(lamp.id, 2)
        work.commit()
    assert stock(uow, lamp.id) == 13
    assert (type(again), type(after)) == (UnitOfWorkMisuse, UnitOfWorkMisuse)


def _locking_read_times_out_then_write(
    uow: UnitOfWorkFactory, short: UnitOfWorkFactory
) -> list[tuple[str, str, str]]:
    alice = add_user(uow)
    lamp = add_product(uow, inventory=10)
    with uow() as setup:
        setup.carts.add_for_user(alice.id, lamp.id, 1)
        setup.commit()
    held, release, ended = threading.Event(), threading.Event(), threading.Event()

    def hold() -> None:
        with uow() as holder:
            holder.carts.find_for_user(alice.id, lock=True)
            held.set()
            release.wait(10)
        ended.set()

    holder = threading.Thread(target=hold)
    holder.start()
    t = Trace()
    try:
        assert held.wait(10)
        with short() as work:
            t("locked read", lambda: work.carts.find_for_user(alice.id, lock=True))
            release.set()
            assert ended.wait(10)
            t("restock 2", lambda: work.products.restock(lamp.id, 2))
            t("commit", work.commit)
    finally:
        release.set()
        holder.join(10)
    t("stock", lambda: stock(uow, lamp.id))
    return t.events


def _raised(call: Callable[[], object]) -> BaseException | None:
    try:
        call()
    except BaseException as exc:  # the class is what is compared
        return exc
    return None


def test_autocommit_commit_after_a_lost_connection_does_not_deny_what_was_committed(
    postgres_uow: PostgresUnitOfWorkFactory, clean_database: str
) -> None:
    """DEFECT, fixed (PostgreSQL; the fake has no connection to lose). In an autocommit unit
    of work a restock commits by itself (stock 11); the server then ends the session (here
    pg_terminate_backend; in life a restart, a failover or the idle timeout); the next restock
    raises CommitOutcomeUnknown, correctly. The caller's `commit()`, which the port says "has
    nothing left to do", then raises `StorageUnavailable: the connection was lost before the
    commit: nothing was committed`, while the first restock is stored. A caller that believes
    it (`except StorageUnavailable: run the unit of work again`) applies the first restock
    twice; for `products.add`, which has no natural key, that is a duplicate product.
    Expected: commit() in an autocommit unit of work returns (nothing is pending), or at least
    never says that nothing was committed."""
    lamp = add_product(postgres_uow, inventory=10)
    with postgres_uow(autocommit=True) as work:
        work.products.restock(lamp.id, 1)
        with psycopg.connect(clean_database, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        with pytest.raises(StorageUnavailable):
            work.products.restock(lamp.id, 2)
        denied = _raised(work.commit)
    assert stock(postgres_uow, lamp.id) in (11, 13)
    print(f"\ncommit() answered: {denied!r}")
    assert denied is None or "nothing was committed" not in str(denied)


def test_add_many_from_a_source_slower_than_the_idle_timeout_fails_as_documented(
    clean_database: str,
) -> None:
    """DEFECT, fixed in the documentation (PostgreSQL; documentation and behaviour disagreed).
    The guide now names the idle timeout as the bound between two rows, and this holds it.
    README, bulk import: "so
    memory stays flat and no statement gets near statement_timeout whatever the count or the
    pace; only waits on the server count against the deadlines, not the time your iterable
    takes". With `statement_timeout` 600 ms and `idle_in_transaction_session_timeout` 1 s,
    a source that yields a row every 1.3 s (at the defaults: every 6 s, e.g. rows fetched from
    a slow remote API) fails after its rows with `StorageUnavailable: transaction closed by the
    server: idle longer than idle_in_transaction_session_timeout`, and nothing is stored: the
    transaction sits idle between COPY statements while the iterable computes its next row.
    Expected: every row stored, as the README promises "whatever the pace"; or the README
    states the idle timeout as the bound on the time between two rows. (The fake has no
    timeouts.)"""
    pool = create_pool(
        pool_config(
            conninfo=clean_database,
            min_size=1,
            max_size=2,
            statement_timeout_ms=600,
            idle_in_transaction_timeout_ms=1000,
            deadline_margin=0.5,
        )
    )
    try:
        uow = PostgresUnitOfWorkFactory(pool)

        def slow() -> Iterator[NewProduct]:
            for i in range(3):
                yield row(i)
                time.sleep(1.3)

        with uow() as work, pytest.raises(StorageUnavailable, match="idle_in_transaction"):
            work.products.add_many(slow())
        assert _live_products(uow) == 0
    finally:
        pool.close()


# Guards: rules checked to hold on both adapters --------------------------------------------


def test_a_savepoint_block_opened_after_a_failed_write_does_not_let_commit_store_less(
    uow: UnitOfWorkFactory,
) -> None:
    """GUARD (holds on both). A caller catches a failed write outside any block (its restock
    before it is rolled back with it), then opens a savepoint block and writes in it, then
    commits. If the block reset the failure, the commit would store the block's write and
    drop the restock the caller saw succeed. Both adapters refuse the block (RollbackRequired)
    and the commit; nothing is stored."""
    lamp = add_product(uow, inventory=10)
    with uow() as work:
        work.products.restock(lamp.id, 1)
        with pytest.raises(InsufficientInventory):
            work.products.reserve(lamp.id, 99)
        with pytest.raises(RollbackRequired), work.savepoint():
            work.products.restock(lamp.id, 5)
        with pytest.raises(RollbackRequired):
            work.commit()
    assert stock(uow, lamp.id) == 10


def _busy_everywhere(work: UnitOfWork, lamp_id: int, t: Trace) -> Iterator[NewProduct]:
    """An iterable that tries every entry point of the unit of work consuming it, catching
    each refusal, and yields rows between."""
    yield row(1)
    attempts: list[tuple[str, Callable[[], object]]] = [
        ("get", lambda: work.products.get(lamp_id)),
        ("restock", lambda: work.products.restock(lamp_id, 5)),
        ("users.get", lambda: work.users.get(1)),
        ("commit", work.commit),
        ("rollback", work.rollback),
        ("savepoint", lambda: work.savepoint().__enter__()),
        ("exit", lambda: work.__exit__(None, None, None)),
        ("add_many", lambda: work.products.add_many([row(9)])),
    ]
    for label, attempt in attempts:
        t(f"iterable {label}", attempt)
    yield row(2)


def test_an_import_whose_iterable_uses_its_own_unit_of_work_is_refused_each_time_and_goes_on(
    postgres_uow: PostgresUnitOfWorkFactory,
) -> None:
    """GUARD (holds on both, compared side by side). While `add_many` consumes the iterable,
    every call the iterable makes on the same unit of work (a read, a write, commit(),
    rollback(), a savepoint, leaving the `with` by hand, a nested import) raises
    UnitOfWorkBusy and rolls nothing back; an iterable that catches the refusals goes on, the
    import stores its rows, and the unit of work commits them with the write before it."""

    def scenario(uow: UnitOfWorkFactory, t: Trace) -> None:
        lamp = add_product(uow, inventory=10)
        with uow() as work:
            t("restock 1", lambda: work.products.restock(lamp.id, 1))
            t("import", lambda: work.products.add_many(_busy_everywhere(work, lamp.id, t)))
            t("commit", work.commit)
        t("stock", lambda: stock(uow, lamp.id))
        t("products", lambda: _live_products(uow))

    results = both(postgres_uow, scenario)
    memory, postgres = results["memory"][0], results["postgres"][0]
    assert [e[:2] for e in postgres] == [e[:2] for e in memory]
    kinds = dict((label, kind) for label, kind, _ in memory)
    refused = ["get", "restock", "users.get", "commit", "rollback", "savepoint", "exit", "add_many"]
    assert {kinds[f"iterable {label}"] for label in refused} == {UnitOfWorkBusy.__name__}
    assert (kinds["import"], kinds["commit"]) == ("ok", "ok")
    assert memory[-2:] == [("stock", "ok", "11"), ("products", "ok", "3")]


@pytest.mark.parametrize("caught", ["outside", "inside"])
def test_an_import_that_fails_inside_a_savepoint_block_rolls_back_only_the_block(
    uow: UnitOfWorkFactory, caught: str
) -> None:
    """GUARD (holds on both). The add_many docstring says a failing iterable rolls the unit of
    work back "to its last commit, as after any failed write"; inside a savepoint block a
    failed write rolls back only the block. Both adapters agree on the block: with the error
    caught outside the block, the write before the block is committed and the block's write
    and rows are not; caught inside, the next write in the block and the block's exit raise
    RollbackRequired, and the unit of work goes on after it."""
    lamp = add_product(uow, inventory=10)

    def failing() -> Iterator[NewProduct]:
        yield row(1)
        raise Boom("source failed")

    def block_raising(work: UnitOfWork) -> None:
        with work.savepoint():
            work.products.restock(lamp.id, 4)
            work.products.add_many(failing())

    def block_catching(work: UnitOfWork) -> None:
        with work.savepoint():
            work.products.restock(lamp.id, 4)
            with pytest.raises(Boom):
                work.products.add_many(failing())
            with pytest.raises(RollbackRequired):
                work.products.restock(lamp.id, 8)

    with uow() as work:
        work.products.restock(lamp.id, 1)
        if caught == "outside":
            with pytest.raises(Boom):
                block_raising(work)
        else:
            with pytest.raises(RollbackRequired):
                block_catching(work)
        work.products.restock(lamp.id, 2)
        work.commit()
    assert stock(uow, lamp.id) == 13
    assert _live_products(uow) == 1


def test_a_savepoint_block_left_after_its_unit_of_work_touches_nothing_of_the_next(
    postgres_uow: PostgresUnitOfWorkFactory,
) -> None:
    """GUARD (holds on both, compared side by side). A generator holds a savepoint block of
    unit of work A open; A exits; unit of work B (on PostgreSQL, likely on A's pooled
    connection) writes, opens a block of its own, and then the generator is closed, so A's
    block is left with GeneratorExit (and another of A's blocks by hand, normally). Neither
    may roll back to, release or otherwise touch B's transaction: B's writes before, in and
    after the late exits are all committed."""

    def held(work: UnitOfWork, product_id: int) -> Generator[None, None, None]:
        with work.savepoint():
            work.products.restock(product_id, 1000)
            yield

    def scenario(uow: UnitOfWorkFactory, t: Trace) -> None:
        lamp = add_product(uow, inventory=10)
        with uow() as a:
            pending = held(a, lamp.id)
            next(pending)
            by_hand = a.savepoint()
            by_hand.__enter__()
        with uow() as b:
            t("b restock 5", lambda: b.products.restock(lamp.id, 5))
            with b.savepoint():
                t("b restock 7", lambda: b.products.restock(lamp.id, 7))
                t("a's block closed", pending.close)
                t("a's block left", lambda: by_hand.__exit__(None, None, None))
                t("b restock 20", lambda: b.products.restock(lamp.id, 20))
            t("b commit", b.commit)
        t("stock", lambda: stock(uow, lamp.id))

    results = both(postgres_uow, scenario)
    memory, postgres = results["memory"][0], results["postgres"][0]
    assert [e[:2] for e in postgres] == [e[:2] for e in memory]
    assert postgres[-1] == ("stock", "ok", "42")


@pytest.mark.parametrize("autocommit", [False, True], ids=["transaction", "autocommit"])
def test_an_import_over_several_copy_statements_is_all_or_nothing_even_in_autocommit(
    clean_database: str, autocommit: bool
) -> None:
    """GUARD (PostgreSQL; holds). A slow source makes the import send several COPY statements
    (each ends at half of the 600 ms statement_timeout), then raises. Nothing of it is stored,
    also in an autocommit unit of work, where "every repository call is a transaction of its
    own" means the whole import, not each COPY. The write before it is kept in autocommit and
    refused with the unit of work otherwise."""
    pool = create_pool(
        pool_config(
            conninfo=clean_database,
            min_size=1,
            max_size=2,
            statement_timeout_ms=600,
            deadline_margin=0.5,
        )
    )
    try:
        uow = PostgresUnitOfWorkFactory(pool)
        lamp = add_product(uow, inventory=10)

        def slow_then_fails() -> Iterator[NewProduct]:
            for i in range(5):
                yield row(i)
                time.sleep(0.2)
            raise Boom("the source failed after several batches")

        with uow(autocommit=autocommit) as work:
            work.products.restock(lamp.id, 1)
            with pytest.raises(Boom):
                work.products.add_many(slow_then_fails())
            after: AbstractContextManager[object] = (
                nullcontext() if autocommit else pytest.raises(RollbackRequired)
            )
            with after:
                work.commit()
        assert _live_products(uow) == 1
        assert stock(uow, lamp.id) == (11 if autocommit else 10)
    finally:
        pool.close()


def test_a_read_that_times_out_inside_a_block_rolls_back_only_the_block(
    postgres_uow: PostgresUnitOfWorkFactory, clean_database: str
) -> None:
    """GUARD (PostgreSQL; holds). A restock, then a savepoint block whose restock is followed by
    a locking read that times out behind another unit of work: the error leaving the block
    rolls back the block only, and the unit of work goes on and commits the restocks outside
    it. Without the block, after a write, the same timeout refuses every later write and the
    commit, as the port says of a failed read that discarded writes."""
    uow = postgres_uow
    alice = add_user(uow)
    lamp = add_product(uow, inventory=10)
    with uow() as setup:
        setup.carts.add_for_user(alice.id, lamp.id, 1)
        setup.commit()
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with uow() as holder:
            holder.carts.find_for_user(alice.id, lock=True)
            held.set()
            release.wait(10)

    def block(work: UnitOfWork) -> None:
        with work.savepoint():
            work.products.restock(lamp.id, 4)
            work.carts.find_for_user(alice.id, lock=True)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(10)
        with short_timeout(clean_database) as short:
            with short() as work:
                work.products.restock(lamp.id, 1)
                with pytest.raises(StorageUnavailable):
                    block(work)
                work.products.restock(lamp.id, 2)
                work.commit()
            with short() as work:
                work.products.restock(lamp.id, 100)
                with pytest.raises(StorageUnavailable):
                    work.carts.find_for_user(alice.id, lock=True)
                with pytest.raises(RollbackRequired):
                    work.products.restock(lamp.id, 1)
                with pytest.raises(RollbackRequired):
                    work.commit()
    finally:
        release.set()
        holder.join(10)
    assert stock(uow, lamp.id) == 13
