"""The unit of work's rules after a failure and its savepoint blocks, as callers combine calls:
rules that held. Scenarios run side by side on the fake and on PostgreSQL and must answer alike
(same error class, same message, same stock afterwards), then the answers are checked against
the README and the port docstrings."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Generator, Iterator
from functools import partial

import psycopg
import pytest

from adapters.memory import MemoryUnitOfWorkFactory
from adapters.postgres import PostgresUnitOfWorkFactory, create_pool
from domain.errors import DomainError, InsufficientInventory, RollbackRequired
from domain.model import NewUser, ProductChanges
from ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from shopdb.settings import SettingsError, load_settings
from shopdb.testdb import pool_config
from tests.contract.helpers import add_product, add_user
from tests.review.sidebyside import Boom, Scenario, Trace, both, row, short_timeout, stock

Answers = dict[str, tuple[str, str]]


def agree(postgres_uow: UnitOfWorkFactory, scenario: Scenario) -> Answers:
    """The scenario's answers, the same on both adapters, by label."""
    results = both(postgres_uow, scenario)
    assert results["memory"][0] == results["postgres"][0]
    return {label: (kind, text) for label, kind, text in results["postgres"][0]}


def _rows_then(exc: BaseException) -> Iterator[object]:
    yield row(1)
    yield row(2)
    raise exc


def _kind(answer: tuple[str, str]) -> str:
    return answer[0]


# Catch, then carry on ------------------------------------------------------------------------


def test_an_inner_block_that_failed_leaves_the_outer_block_going(
    postgres_uow: PostgresUnitOfWorkFactory,
) -> None:
    """Nested blocks: the inner catches its failure inside, so leaving it raises
    RollbackRequired(savepoint); the outer catches that and goes on; commit() keeps the outer
    block's writes and drops the inner's."""

    def scenario(uow: UnitOfWorkFactory, t: Trace) -> None:
        lamp = add_product(uow, inventory=10)
        with uow() as work:
            with work.savepoint():
                work.products.restock(lamp.id, 1)

                def inner() -> None:
                    with work.savepoint():
                        work.products.restock(lamp.id, 10)
                        with contextlib.suppress(InsufficientInventory):
                            work.products.reserve(lamp.id, 999)

                t("inner", inner)
                t("outer goes on", lambda: work.products.restock(lamp.id, 100))
            t("commit", work.commit)
        t("stock", lambda: stock(uow, lamp.id))

    answers = agree(postgres_uow, scenario)
    assert answers["inner"][0] == "RollbackRequired"
    assert "products.reserve (InsufficientInventory)" in answers["inner"][1]
    assert "savepoint block" in answers["inner"][1]
    assert answers["outer goes on"] == ("ok", "stock 111")
    assert answers["stock"] == ("ok", "111")


def test_a_caller_error_caught_inside_a_block_is_reported_at_every_turn(
    postgres_uow: PostgresUnitOfWorkFactory,
) -> None:
    """An exception that is not a domain error (ValueError from the caller's rows) fails
    `add_many` inside a block and is caught inside it: writes and a nested block are refused
    naming `products.add_many (ValueError)`, commit() is UnitOfWorkMisuse, leaving the block
    raises RollbackRequired(savepoint), and what came before the block is committed."""

    def scenario(uow: UnitOfWorkFactory, t: Trace) -> None:
        lamp = add_product(uow, inventory=10)
        with uow() as work:
            work.products.restock(lamp.id, 1)

            def block() -> None:
                with work.savepoint():
                    work.products.restock(lamp.id, 2)
                    rows = _rows_then(ValueError("bad row"))
                    t("add_many", lambda: work.products.add_many(rows))  # type: ignore[arg-type]
                    t("write", lambda: work.products.restock(lamp.id, 4))
                    t("commit inside", work.commit)
                    t("nested", lambda: work.savepoint().__enter__())

            t("block", block)
            t("after", lambda: work.products.restock(lamp.id, 100))
            t("commit", work.commit)
        t("stock", lambda: stock(uow, lamp.id))

    answers = agree(postgres_uow, scenario)
    assert answers["add_many"] == ("ValueError", "bad row")
    for label in ("write", "nested", "block"):
        assert answers[label][0] == "RollbackRequired"
        assert answers[label][1].startswith("products.add_many (ValueError) failed and rolled back")
    assert _kind(answers["commit inside"]) == "UnitOfWorkMisuse"
    assert answers["stock"] == ("ok", "111")


def test_keyboard_interrupt_from_add_manys_rows_rolls_back_the_block_or_the_unit(
    postgres_uow: PostgresUnitOfWorkFactory,
) -> None:
    """KeyboardInterrupt (a BaseException) from the caller's rows: inside a block it rolls back
    only the block; outside, the whole unit of work, and writes and commit() are refused naming
    `products.add_many (KeyboardInterrupt)` until rollback()."""

    def scenario(uow: UnitOfWorkFactory, t: Trace) -> None:
        lamp = add_product(uow, inventory=10)
        with uow() as work:
            work.products.restock(lamp.id, 1)

            def block() -> None:
                with work.savepoint():
                    work.products.restock(lamp.id, 2)
                    work.products.add_many(_rows_then(KeyboardInterrupt()))  # type: ignore[arg-type]

            t("block", block)
            t("after block", lambda: work.products.restock(lamp.id, 100))
            rows = _rows_then(KeyboardInterrupt())
            t("outside", lambda: work.products.add_many(rows))  # type: ignore[arg-type]
            t("write", lambda: work.products.restock(lamp.id, 1000))
            t("commit", work.commit)
            t("rollback", work.rollback)
            t("again", lambda: work.products.restock(lamp.id, 5))
            t("commit again", work.commit)
        t("stock", lambda: stock(uow, lamp.id))
        with uow(read_only=True) as work:
            t("rows", lambda: len(work.products.get_many(range(1, 10))))

    answers = agree(postgres_uow, scenario)
    assert answers["block"] == ("KeyboardInterrupt", "")
    assert answers["after block"] == ("ok", "stock 111")
    assert _kind(answers["write"]) == _kind(answers["commit"]) == "RollbackRequired"
    assert answers["commit"][1].startswith("products.add_many (KeyboardInterrupt) failed")
    assert answers["stock"] == ("ok", "15")
    assert answers["rows"] == ("ok", "1")  # the lamp only


def test_keyboard_interrupt_after_a_caught_failure_leaves_the_block_as_itself(
    postgres_uow: PostgresUnitOfWorkFactory,
) -> None:
    def scenario(uow: UnitOfWorkFactory, t: Trace) -> None:
        lamp = add_product(uow, inventory=10)
        with uow() as work:
            work.products.restock(lamp.id, 1)

            def block() -> None:
                with work.savepoint():
                    work.products.restock(lamp.id, 2)
                    with contextlib.suppress(InsufficientInventory):
                        work.products.reserve(lamp.id, 999)
                    raise KeyboardInterrupt

            t("block", block)
            t("after", lambda: work.products.restock(lamp.id, 100))
            t("commit", work.commit)
        t("stock", lambda: stock(uow, lamp.id))

    answers = agree(postgres_uow, scenario)
    assert answers["block"] == ("KeyboardInterrupt", "")
    assert answers["stock"] == ("ok", "111")


def _in_block(work: UnitOfWork, product_id: int) -> Generator[None, None, None]:
    with work.savepoint():
        work.products.restock(product_id, 5)
        yield
        work.products.restock(product_id, 50)


def test_a_generator_holding_a_block_is_rolled_back_when_closed_and_refuses_commit_while_open(
    postgres_uow: PostgresUnitOfWorkFactory,
) -> None:
    """GeneratorExit leaves the block: only the block is rolled back. While a generator holds a
    block open, commit() is UnitOfWorkMisuse; a unit of work left with the block open rolls
    back, and closing the generator afterwards changes nothing."""

    def scenario(uow: UnitOfWorkFactory, t: Trace) -> None:
        lamp = add_product(uow, inventory=10)
        with uow() as work:
            work.products.restock(lamp.id, 1)
            gen = _in_block(work, lamp.id)
            next(gen)
            t("close", gen.close)
            t("after", lambda: work.products.restock(lamp.id, 100))
            t("commit", work.commit)
        t("stock", lambda: stock(uow, lamp.id))
        with uow() as work:
            work.products.restock(lamp.id, 1000)
            left_open = _in_block(work, lamp.id)
            next(left_open)
            t("commit while open", work.commit)
        t("late close", left_open.close)
        t("stock after", lambda: stock(uow, lamp.id))

    answers = agree(postgres_uow, scenario)
    assert answers["stock"] == ("ok", "111")
    assert _kind(answers["commit while open"]) == "UnitOfWorkMisuse"
    assert answers["late close"] == ("ok", "None")
    assert answers["stock after"] == ("ok", "111")


def test_a_block_object_is_used_once(postgres_uow: PostgresUnitOfWorkFactory) -> None:
    """Entering a block object while it is open, or again after an exception left it, is
    UnitOfWorkMisuse; it rolls nothing back beyond the block it interrupted."""

    def scenario(uow: UnitOfWorkFactory, t: Trace) -> None:
        lamp = add_product(uow, inventory=10)
        with uow() as work:
            block = work.savepoint()

            def twice() -> None:
                with block:
                    work.products.restock(lamp.id, 1)
                    with block:
                        work.products.restock(lamp.id, 2)

            t("twice", twice)
            again = work.savepoint()

            def fails() -> None:
                with again:
                    work.products.reserve(lamp.id, 999)

            t("fails", fails)

            def reuse() -> None:
                with again:
                    work.products.restock(lamp.id, 4)

            t("reuse", reuse)
            t("after", lambda: work.products.restock(lamp.id, 100))
            t("commit", work.commit)
        t("stock", lambda: stock(uow, lamp.id))

    answers = agree(postgres_uow, scenario)
    assert _kind(answers["twice"]) == _kind(answers["reuse"]) == "UnitOfWorkMisuse"
    assert answers["stock"] == ("ok", "110")


def test_a_second_failure_renames_the_refusal_and_rollback_clears_it(
    postgres_uow: PostgresUnitOfWorkFactory,
) -> None:
    def scenario(uow: UnitOfWorkFactory, t: Trace) -> None:
        lamp = add_product(uow, inventory=10)
        with uow() as work:
            work.products.restock(lamp.id, 1)

            def block() -> None:
                with work.savepoint():
                    work.products.reserve(lamp.id, 999)

            t("block", block)
            t("bad argument", lambda: work.products.reserve(lamp.id, 0))
            t("write", lambda: work.products.restock(lamp.id, 100))
            t("savepoint", lambda: work.savepoint().__enter__())
            t("commit", work.commit)
            t("rollback", work.rollback)
            t("commit after rollback", work.commit)
        t("stock", lambda: stock(uow, lamp.id))

    answers = agree(postgres_uow, scenario)
    assert _kind(answers["bad argument"]) == "InvalidInput"
    for label in ("write", "savepoint", "commit"):
        assert answers[label][1].startswith("products.reserve (InvalidInput) failed")
    assert answers["commit after rollback"] == ("ok", "None")
    assert answers["stock"] == ("ok", "10")


def test_rollback_inside_nested_blocks_ends_them_and_later_writes_are_kept(
    postgres_uow: PostgresUnitOfWorkFactory,
) -> None:
    def scenario(uow: UnitOfWorkFactory, t: Trace) -> None:
        lamp = add_product(uow, inventory=10)
        with uow() as work:
            work.products.restock(lamp.id, 1)

            def blocks() -> None:
                with work.savepoint():
                    work.products.restock(lamp.id, 2)
                    with work.savepoint():
                        work.products.restock(lamp.id, 4)
                        with contextlib.suppress(InsufficientInventory):
                            work.products.reserve(lamp.id, 999)
                        work.rollback()
                        t("after rollback", lambda: work.products.restock(lamp.id, 8))
                    t("outer after inner", lambda: work.products.restock(lamp.id, 16))
                    with work.savepoint():
                        t("new block", lambda: work.products.restock(lamp.id, 32))

            t("blocks", blocks)
            t("commit", work.commit)
        t("stock", lambda: stock(uow, lamp.id))

    answers = agree(postgres_uow, scenario)
    assert answers["blocks"] == ("ok", "None")
    assert answers["stock"] == ("ok", "66")


def test_savepoint_blocks_and_add_manys_rows(postgres_uow: PostgresUnitOfWorkFactory) -> None:
    """A block opened from add_many's rows is UnitOfWorkBusy: if it escapes, add_many fails and
    the unit of work is refused naming `products.add_many (UnitOfWorkBusy)`; if the rows catch
    it (and the refused rollback() and commit()), the import goes on: refusals roll nothing
    back."""

    def scenario(uow: UnitOfWorkFactory, t: Trace) -> None:
        lamp = add_product(uow, inventory=10)
        with uow() as work:
            work.products.restock(lamp.id, 1)

            def escapes() -> Iterator[object]:
                yield row(1)
                with work.savepoint():
                    yield row(2)

            t("escapes", lambda: work.products.add_many(escapes()))  # type: ignore[arg-type]
            t("commit", work.commit)
        with uow() as work:
            work.products.restock(lamp.id, 1)

            def caught() -> Iterator[object]:
                yield row(1)
                for call in (lambda: work.savepoint().__enter__(), work.rollback, work.commit):
                    t("from the rows", call)
                yield row(3)

            t("caught", lambda: work.products.add_many(caught()))  # type: ignore[arg-type]
            t("commit 2", work.commit)
        t("stock", lambda: stock(uow, lamp.id))

    answers = agree(postgres_uow, scenario)
    assert _kind(answers["escapes"]) == "UnitOfWorkBusy"
    assert answers["commit"][1].startswith("products.add_many (UnitOfWorkBusy) failed")
    assert _kind(answers["from the rows"]) == "UnitOfWorkBusy"
    assert answers["caught"] == ("ok", "2")
    assert answers["stock"] == ("ok", "11")


def test_autocommit_and_read_only_units_refuse_alike(
    postgres_uow: PostgresUnitOfWorkFactory,
) -> None:
    def scenario(uow: UnitOfWorkFactory, t: Trace) -> None:
        lamp = add_product(uow, inventory=10)
        with uow(autocommit=True) as work:
            rows = _rows_then(KeyboardInterrupt())
            t("add_many", lambda: work.products.add_many(rows))  # type: ignore[arg-type]
            t("restock", lambda: work.products.restock(lamp.id, 1))
            t("reserve", lambda: work.products.reserve(lamp.id, 999))
            t("restock 2", lambda: work.products.restock(lamp.id, 2))
            t("savepoint", lambda: work.savepoint().__enter__())
            t("commit", work.commit)
        with uow(read_only=True) as work:
            t("ro write", lambda: work.products.restock(lamp.id, 1))
            t("ro savepoint", lambda: work.savepoint().__enter__())
            t("ro commit", work.commit)
        t("stock", lambda: stock(uow, lamp.id))

    answers = agree(postgres_uow, scenario)
    assert answers["restock 2"] == ("ok", "stock 13")
    assert _kind(answers["savepoint"]) == "UnitOfWorkMisuse"
    assert _kind(answers["ro write"]) == _kind(answers["ro savepoint"]) == "ReadOnlyViolation"
    assert answers["stock"] == ("ok", "13")


def _new_user(name: str) -> NewUser:
    return NewUser(username=name, email=f"{name}@example.com", password_hash="h")


def test_constraint_failures_in_blocks_roll_back_only_their_block(
    postgres_uow: PostgresUnitOfWorkFactory,
) -> None:
    """Failures PostgreSQL reports from a statement (unique violations, the stock check, the
    version check, an empty cart, a short checkout, a reused key) and an archive undone by the
    caller's exception, each in its own block: the unit of work goes on after each."""

    def scenario(uow: UnitOfWorkFactory, t: Trace) -> None:
        alice, bob = add_user(uow, "alice"), add_user(uow, "bob")
        lamp, desk = add_product(uow, inventory=5), add_product(uow, "Desk", inventory=5)
        with uow() as work:
            work.carts.add_for_user(alice.id, lamp.id, 2)
            work.carts.add_for_user(alice.id, desk.id, 2)
            work.commit()
        with uow() as work:
            work.products.restock(lamp.id, 1)
            attempts = {
                "username": lambda: work.users.add(_new_user("ALICE")),
                "email": lambda: work.users.change_email(bob.id, "ALICE@example.com"),
                "stock": lambda: work.carts.add_for_user(alice.id, lamp.id, 5000),
                "version": lambda: work.products.update(lamp.id, 99, ProductChanges(name="Z")),
                "empty": lambda: work.orders.place(bob.id, "k0"),
                "short": lambda: (
                    work.products.reserve(desk.id, 4),
                    work.orders.place(alice.id, "k1"),
                ),
            }
            for label, attempt in attempts.items():

                def block(attempt: Callable[[], object] = attempt) -> None:
                    with work.savepoint():
                        work.products.restock(lamp.id, 1000)
                        attempt()

                t(label, block)

            def archive() -> None:
                with work.savepoint():
                    work.products.delete(lamp.id)
                    work.users.delete(alice.id)
                    raise Boom

            t("archive", archive)
            t("lines", lambda: len(work.carts.find_for_user(alice.id).items))  # type: ignore[union-attr]
            t("place", lambda: str(work.orders.place(alice.id, "k1").total))
            t("commit", work.commit)
        with uow() as work:
            work.carts.add_for_user(alice.id, lamp.id, 1)

            def reused() -> None:
                with work.savepoint():
                    work.orders.place(alice.id, "k1")

            t("reused key", reused)
            t("new key", lambda: str(work.orders.place(alice.id, "k2").total))
            t("commit 2", work.commit)
        t("stocks", lambda: [stock(uow, lamp.id), stock(uow, desk.id)])

    answers = agree(postgres_uow, scenario)
    assert [_kind(answers[k]) for k in ("username", "email", "stock", "version", "empty")] == [
        "UsernameTaken",
        "EmailTaken",
        "InsufficientInventory",
        "ConcurrencyConflict",
        "EmptyCart",
    ]
    assert _kind(answers["short"]) == "InsufficientInventory"
    assert answers["archive"] == ("Boom", "")
    assert answers["lines"] == ("ok", "2")
    assert answers["place"] == ("ok", "'79.96'")
    assert answers["reused key"][0] == "ok"  # the key names the checkout made: its order
    assert answers["stocks"] == ("ok", "[3, 3]")


def test_closing_an_outer_block_first_is_refused_at_commit_on_postgres(
    postgres_uow: PostgresUnitOfWorkFactory,
) -> None:
    """On PostgreSQL the out-of-order exit (see test_failure_rules) never commits less than was
    seen: commit() is refused and nothing is stored."""
    lamp = add_product(postgres_uow, inventory=10)
    with postgres_uow() as work:
        work.products.restock(lamp.id, 1)
        outer, inner = _in_block(work, lamp.id), _in_block(work, lamp.id)
        next(outer)
        next(inner)
        outer.close()
        with pytest.raises(RollbackRequired):
            work.products.restock(lamp.id, 100)
        inner.close()
        with pytest.raises(DomainError):
            work.commit()
    assert stock(postgres_uow, lamp.id) == 10


# Faults on PostgreSQL -----------------------------------------------------------------------


@pytest.mark.needs_session("its statement_timeout is a startup option")
@pytest.mark.parametrize("caught", ["outside", "inside"])
def test_a_write_cancelled_in_a_block_rolls_back_only_the_block(
    clean_database: str, caught: str
) -> None:
    """A write waiting for a row another connection holds is cancelled at statement_timeout in
    a block: only the block is rolled back, the unit of work goes on and commits the rest."""
    with short_timeout(clean_database) as uow:
        held, other_product = add_product(uow, "Held"), add_product(uow, "Other")
        with psycopg.connect(clean_database) as other:
            other.execute("UPDATE products SET name = 'X' WHERE id = %s", (held.id,))
            with uow() as work:
                work.products.restock(other_product.id, 1)
                with contextlib.suppress(DomainError), work.savepoint():
                    work.products.restock(other_product.id, 2)
                    if caught == "outside":
                        work.products.restock(held.id, 1)
                    with pytest.raises(DomainError, match="statement_timeout"):
                        work.products.restock(held.id, 1)
                    with pytest.raises(DomainError, match=r"products\.restock \(Storage"):
                        work.products.restock(other_product.id, 8)
                work.products.restock(other_product.id, 4)
                work.commit()
            other.rollback()
        assert (stock(uow, held.id), stock(uow, other_product.id)) == (10, 15)


@pytest.mark.needs_session("its statement_timeout is a startup option")
def test_a_read_cancelled_in_a_block_that_wrote_rolls_back_only_the_block(
    clean_database: str,
) -> None:
    with short_timeout(clean_database) as uow:
        lamp = add_product(uow)
        with psycopg.connect(clean_database) as other:
            other.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
            with uow() as work:
                work.products.restock(lamp.id, 1)
                with pytest.raises(DomainError, match="savepoint block"), work.savepoint():  # noqa: PT012
                    work.products.restock(lamp.id, 2)
                    with pytest.raises(DomainError, match="statement_timeout"):
                        work.users.get_by_username("nobody")
                    assert work.products.get(lamp.id).inventory_count == 11
                with pytest.raises(DomainError, match="statement_timeout"):
                    work.users.get_by_username("nobody")  # at the top, after a write
                with pytest.raises(DomainError, match=r"a read \(StorageUnavailable\)"):
                    work.commit()
            other.rollback()
        assert stock(uow, lamp.id) == 10


def _terminate_idle_in_transaction(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND state LIKE 'idle in transaction%%'"
        ).fetchall()
    return len(rows)


@pytest.mark.needs_session("it kills its own backend")
@pytest.mark.parametrize("then", ["write", "leave", "raise", "nested block"])
def test_a_backend_killed_in_a_block_never_commits(clean_database: str, then: str) -> None:
    """The backend is terminated inside a block; whatever the caller does next (a write,
    leaving the block, an exception, a nested block), commit() raises, also after rollback()
    and another write, and nothing is stored."""
    with short_timeout(clean_database) as uow:
        lamp = add_product(uow)
        with uow() as work:
            work.products.restock(lamp.id, 1)
            with contextlib.suppress(DomainError, Boom), work.savepoint():
                work.products.restock(lamp.id, 2)
                assert _terminate_idle_in_transaction(clean_database) == 1
                if then == "write":
                    work.products.restock(lamp.id, 8)
                elif then == "raise":
                    raise Boom
                elif then == "nested block":
                    with work.savepoint():
                        pass
            with pytest.raises(DomainError):
                work.commit()
            work.rollback()
            with contextlib.suppress(DomainError):
                work.products.restock(lamp.id, 32)
            with pytest.raises(DomainError):
                work.commit()
        assert stock(uow, lamp.id) == 10
        with uow() as work:  # the pool recovers
            work.products.restock(lamp.id, 1)
            work.commit()
        assert stock(uow, lamp.id) == 11


# Startup settings ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres:sec@ret9@127.0.0.1:5432/test",  # pragma: allowlist secret
        "postgresql://postgres:s3cr@t@localhost/test",  # pragma: allowlist secret
        "postgresql://po@stgres@127.0.0.1/test",
    ],
)
def test_an_at_sign_in_the_user_or_password_is_refused_without_echoing_it(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(SettingsError, match="percent-encode it as %40") as refused:
        load_settings()
    assert "ret9" not in str(refused.value)
    assert "s3cr" not in str(refused.value)


@pytest.mark.parametrize("name", ["SHOPDB_POOL_MAXSIZE", "shopdb_pool_maxsize"])
def test_a_misspelt_setting_warns_naming_the_closest(
    name: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1/test")
    monkeypatch.setenv(name, "3")
    with caplog.at_level(logging.WARNING, logger="shopdb.settings"):
        settings = load_settings()
    assert settings.pool_max_size == 10
    assert f"{name} is not a setting and is ignored" in caplog.text
    assert "SHOPDB_POOL_MAX_SIZE" in caplog.text


def test_connect_on_start_hides_a_percent_encoded_password_and_can_start_again(
    admin_url: str,
) -> None:
    parts = psycopg.conninfo.conninfo_to_dict(admin_url)
    server = f"{parts.get('host', '127.0.0.1')}:{parts.get('port', 5432)}"
    hidden = "canary%40s3cret%2Fx"  # pragma: allowlist secret
    url = f"postgresql://nosuchuser:{hidden}@{server}/postgres"
    code = (
        "from shopdb.container import Container\n"
        "from shopdb.settings import load_settings\n"
        "c = Container(settings=load_settings())\n"
        "for _ in range(2):\n"
        "    try:\n"
        "        c.init_resources()\n"
        "    except Exception as exc:\n"
        "        print(type(exc).__name__, exc)\n"
        "        c.shutdown_resources()\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("SHOPDB_")}
    env |= {"DATABASE_URL": url, "SHOPDB_CONNECT_ON_START": "true", "SHOPDB_POOL_TIMEOUT": "2"}
    done = subprocess.run(  # noqa: S603 - this interpreter, fixed code
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, cwd="/"
    )
    said = done.stdout + done.stderr
    assert said.count("StorageUnavailable cannot connect to postgresql://nosuchuser:***@") == 2
    assert "s3cret" not in said
    assert 'role "nosuchuser" does not exist' in said


# Ctrl-C while a write waits ------------------------------------------------------------------


@contextlib.contextmanager
def _ctrl_c_after(seconds: float) -> Iterator[None]:
    """KeyboardInterrupt raised in this (the main) thread after `seconds`, as Ctrl-C does."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("where", ["top", "block"])
def test_ctrl_c_while_a_write_waits_for_a_lock_on_postgres(
    postgres_uow: PostgresUnitOfWorkFactory, clean_database: str, where: str
) -> None:
    """KeyboardInterrupt while a write waits for a row another connection holds: at the top,
    the unit of work is refused naming `products.restock (KeyboardInterrupt)` and commit()
    stores nothing; in a block, only the block is lost and the rest commits."""
    uow = postgres_uow
    held, other_product = add_product(uow, "Held"), add_product(uow, "Other")
    with psycopg.connect(clean_database) as other:
        other.execute("UPDATE products SET name = 'X' WHERE id = %s", (held.id,))
        with uow() as work:
            work.products.restock(other_product.id, 1)
            with pytest.raises(KeyboardInterrupt), _ctrl_c_after(0.5):  # noqa: PT012
                if where == "top":
                    work.products.restock(held.id, 1)
                else:
                    with work.savepoint():
                        work.products.restock(other_product.id, 2)
                        work.products.restock(held.id, 1)
            other.rollback()
            if where == "top":
                with pytest.raises(DomainError, match=r"products\.restock \(KeyboardInterrupt\)"):
                    work.products.restock(other_product.id, 4)
                with pytest.raises(DomainError, match=r"products\.restock \(KeyboardInterrupt\)"):
                    work.commit()
            else:
                work.products.restock(other_product.id, 4)
                work.commit()
    expected = 10 if where == "top" else 15
    assert (stock(uow, held.id), stock(uow, other_product.id)) == (10, expected)


def test_ctrl_c_while_a_write_waits_for_the_fakes_writer_lock() -> None:
    uow = MemoryUnitOfWorkFactory()
    held, other_product = add_product(uow, "Held"), add_product(uow, "Other")
    with uow() as holder:
        holder.products.restock(held.id, 1)
        with uow() as work:
            with pytest.raises(KeyboardInterrupt), _ctrl_c_after(0.5):
                work.products.restock(other_product.id, 1)
            holder.rollback()
            with pytest.raises(DomainError, match=r"products\.restock \(KeyboardInterrupt\)"):
                work.products.restock(other_product.id, 4)
            with pytest.raises(DomainError, match=r"products\.restock \(KeyboardInterrupt\)"):
                work.commit()
    assert (stock(uow, held.id), stock(uow, other_product.id)) == (10, 10)


@pytest.mark.needs_session("it kills its own backend")
@pytest.mark.parametrize("how", ["raise", "leave", "raise in a block", "after a commit", "ctrl-c"])
def test_leaving_a_unit_on_a_dead_connection_keeps_the_callers_exception(
    clean_database: str, how: str
) -> None:
    """The backend is terminated, then the unit of work is left (by the caller's exception, by
    KeyboardInterrupt, or normally without commit()): the caller's exception is what propagates
    (the failed ROLLBACK does not replace it), leaving normally raises nothing, and only what
    was committed is stored."""
    expected: type[BaseException] | None = {
        "raise": Boom,
        "raise in a block": Boom,
        "after a commit": Boom,
        "ctrl-c": KeyboardInterrupt,
    }.get(how)
    with short_timeout(clean_database) as uow:
        lamp = add_product(uow)
        raised: BaseException | None = None
        try:
            with uow() as work:
                work.products.restock(lamp.id, 1)
                if how == "after a commit":
                    work.commit()
                    work.products.restock(lamp.id, 1)
                if how == "raise in a block":
                    with work.savepoint():
                        work.products.restock(lamp.id, 1)
                        assert _terminate_idle_in_transaction(clean_database) == 1
                        raise Boom
                assert _terminate_idle_in_transaction(clean_database) == 1
                if expected is not None:
                    raise expected
        except BaseException as exc:  # the caller's own, checked below
            raised = exc
        assert (None if raised is None else type(raised)) is expected
        assert stock(uow, lamp.id) == (11 if how == "after a commit" else 10)


@pytest.mark.parametrize("adapter", ["memory", "postgres"])
@pytest.mark.parametrize("how", ["generator closed", "left normally", "left by an exception"])
def test_a_block_left_after_its_unit_ended_never_touches_the_next_unit_on_its_connection(
    clean_database: str, adapter: str, how: str
) -> None:
    """A block of a first unit of work is left open when that unit ends; a second unit takes
    the same connection (a pool of one) and opens its own block (the same savepoint name on
    PostgreSQL); the first block is then left, inside the second's. The second unit of work is
    untouched: every write it saw succeed is committed."""
    pool = None
    uow: UnitOfWorkFactory
    if adapter == "memory":
        uow = MemoryUnitOfWorkFactory()
    else:
        pool = create_pool(pool_config(conninfo=clean_database, min_size=1, max_size=1))
        uow = PostgresUnitOfWorkFactory(pool)
    try:
        lamp = add_product(uow, inventory=10)
        with uow() as first:
            first.products.restock(lamp.id, 1000)
            if how == "generator closed":
                gen = _in_block(first, lamp.id)
                next(gen)
                late: Callable[[], object] = gen.close
            else:
                block = first.savepoint()
                block.__enter__()
                first.products.restock(lamp.id, 5)
                error = Boom() if how == "left by an exception" else None
                late = partial(block.__exit__, type(error) if error else None, error, None)
        with uow() as second:
            second.products.restock(lamp.id, 1)
            with second.savepoint():
                second.products.restock(lamp.id, 2)
                late()
                second.products.restock(lamp.id, 4)
            second.commit()
        assert stock(uow, lamp.id) == 17
    finally:
        if pool is not None:
            pool.close()


def test_failed_single_writes_leave_the_same_ids_on_both_adapters(
    postgres_uow: PostgresUnitOfWorkFactory,
) -> None:
    """A duplicate user (which draws an identity value on PostgreSQL before the unique index
    refuses it), a short cart line, a reused key and an empty checkout, each followed by
    rollback(): the ids of what is stored next are the same on both adapters."""

    def scenario(uow: UnitOfWorkFactory, t: Trace) -> None:
        alice = add_user(uow, "alice")
        lamp = add_product(uow, inventory=1)
        with uow() as work:
            attempts: dict[str, Callable[[], object]] = {
                "name": lambda: work.users.add(_new_user("ALICE")),
                "email": lambda: work.users.add(
                    NewUser(username="zed", email="Alice@example.com", password_hash="h")
                ),
            }
            for label, attempt in attempts.items():
                t(label, attempt)
                work.rollback()
            t("bob", lambda: work.users.add(_new_user("bob")).id)
            cart = work.carts.get_or_create(alice.id)
            t("short line", lambda: work.carts.add_item(cart.id, lamp.id, 5))
            work.rollback()
            cart = work.carts.get_or_create(alice.id)
            t("cart", lambda: cart.id)
            work.carts.add_item(cart.id, lamp.id, 1)
            t("order", lambda: work.orders.place(alice.id, "k").id)
            work.commit()
        with uow() as work:
            t("empty", lambda: work.orders.place(alice.id, "k2"))
            work.rollback()
            carol = work.users.add(_new_user("carol"))
            t("carol", lambda: carol.id)
            t("carol's cart", lambda: work.carts.get_or_create(carol.id).id)
            work.commit()

    answers = agree(postgres_uow, scenario)
    assert _kind(answers["name"]) == "UsernameTaken"
    assert _kind(answers["short line"]) == "InsufficientInventory"
    assert _kind(answers["empty"]) == "EmptyCart"


def test_a_block_rolled_back_keeps_what_another_unit_committed_meanwhile(
    postgres_uow: PostgresUnitOfWorkFactory,
) -> None:
    """A block is entered before its unit of work has written anything; another unit of work
    restocks and commits; the block writes and is left by an exception. The other unit's
    commit survives the block's rollback (the fake does not restore a copy of the whole store
    taken at the block's start), on both adapters."""

    def scenario(uow: UnitOfWorkFactory, t: Trace) -> None:
        lamp, desk = add_product(uow, inventory=10), add_product(uow, "Desk", inventory=10)
        with uow() as work:

            def block() -> None:
                with work.savepoint():
                    t("read", lambda: work.products.get(lamp.id).inventory_count)
                    with uow() as other:
                        other.products.restock(lamp.id, 100)
                        other.commit()
                    t("desk", lambda: work.products.restock(desk.id, 1))
                    raise Boom

            t("block", block)
            t("lamp", lambda: work.products.get(lamp.id).inventory_count)
            with work.savepoint():
                t("restock lamp", lambda: work.products.restock(lamp.id, 1))
            t("commit", work.commit)
        t("stocks", lambda: [stock(uow, lamp.id), stock(uow, desk.id)])

    answers = agree(postgres_uow, scenario)
    assert answers["lamp"] == ("ok", "110")
    assert answers["stocks"] == ("ok", "[111, 10]")
