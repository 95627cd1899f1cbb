"""The unit of work's rules after a failure, savepoint blocks and startup settings, at the
places they once broke: each test's docstring says what went wrong and what is expected."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Generator, Iterator

import psycopg
import pytest

from adapters.memory import MemoryUnitOfWorkFactory
from adapters.postgres import PostgresUnitOfWorkFactory
from domain.errors import DomainError
from ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from shopdb.settings import load_settings
from tests.contract.helpers import add_product
from tests.review.sidebyside import Boom, Trace, both, row, short_timeout, stock

# Blocks left out of order ----------------------------------------------------------------


def _block(work: UnitOfWork, product_id: int) -> Generator[None, None, None]:
    """A generator holding a savepoint block open between its steps, as a caller's pipeline
    stage or a pytest-style fixture does."""
    with work.savepoint():
        work.products.restock(product_id, 5)
        yield
        work.products.restock(product_id, 50)


def _generators_closed_outer_first(uow: UnitOfWorkFactory, t: Trace) -> None:
    lamp = add_product(uow, inventory=10)
    with uow() as work:
        work.products.restock(lamp.id, 1)
        outer = _block(work, lamp.id)
        next(outer)  # block A: +5
        inner = _block(work, lamp.id)
        next(inner)  # block B, opened inside A: +5
        t("close outer", outer.close)  # GeneratorExit leaves A: A is rolled back
        t("restock 100", lambda: work.products.restock(lamp.id, 100))
        t("close inner", inner.close)  # GeneratorExit leaves B
        t("commit", work.commit)
    t("stock", lambda: stock(uow, lamp.id))


def test_closing_an_outer_block_first_never_commits_a_write_rolled_back_or_drops_one_seen() -> None:
    """Memory adapter. Two generators each hold a savepoint block; the one holding the outer
    block is closed first (its block is rolled back: the +5 it wrote is gone), the caller then
    restocks 100 (answered: stock 111), and the generator holding the inner block is closed.
    The fake then restores its copy taken when the inner block began: commit() succeeds and
    stores 16, bringing back the outer block's rolled-back +5 and dropping the restock of 100
    the caller saw succeed. Expected: never a commit of less, or other, than the caller saw
    succeed: either 111 stored, or commit() refused with a DomainError and nothing stored.
    (PostgreSQL refuses the commit; see the next test for how.)"""
    t = Trace()
    _generators_closed_outer_first(MemoryUnitOfWorkFactory(), t)
    outcome = dict((label, (kind, text)) for label, kind, text in t.events)
    restocked = outcome["restock 100"] == ("ok", "stock 111")
    assert restocked or outcome["restock 100"][0] == "RollbackRequired", t.events
    committed = outcome["commit"][0] == "ok"
    assert not committed or restocked, t.events
    assert outcome["stock"] == ("ok", "111" if committed else "10"), t.events


def _exits_out_of_order(uow: UnitOfWorkFactory, t: Trace) -> None:
    lamp = add_product(uow, inventory=10)
    with uow() as work:
        work.products.restock(lamp.id, 1)
        outer, inner = work.savepoint(), work.savepoint()
        outer.__enter__()
        work.products.restock(lamp.id, 2)
        inner.__enter__()
        work.products.restock(lamp.id, 4)
        t("outer exit", lambda: outer.__exit__(None, None, None))
        t("inner exit", lambda: inner.__exit__(None, None, None))
        t("restock 8", lambda: work.products.restock(lamp.id, 8))
        t("commit", work.commit)
    t("stock", lambda: stock(uow, lamp.id))


def _threads_share(uow: UnitOfWorkFactory, t: Trace) -> None:
    """Two threads of one unit of work each in a block: A's opened first, B's inside it (on the
    same transaction); A leaves normally while B is open, then B's write fails."""
    lamp = add_product(uow, inventory=10)
    with uow() as work:
        work.products.restock(lamp.id, 1)
        b_inside, a_left = threading.Event(), threading.Event()

        def b() -> None:
            with work.savepoint():
                t("b restock 2", lambda: work.products.restock(lamp.id, 2))
                b_inside.set()
                a_left.wait(10)
                work.products.reserve(lamp.id, 999)

        thread = threading.Thread(target=lambda: t("b block", b))

        def a() -> None:
            with work.savepoint():
                work.products.restock(lamp.id, 4)
                thread.start()
                b_inside.wait(10)

        t("a block", a)
        a_left.set()
        thread.join(10)
        t("restock 100", lambda: work.products.restock(lamp.id, 100))
        t("commit", work.commit)
    t("stock", lambda: stock(uow, lamp.id))


@pytest.mark.parametrize(
    "scenario",
    [_generators_closed_outer_first, _exits_out_of_order, _threads_share],
    ids=["generators-closed-outer-first", "manual-exits-outer-first", "two-threads"],
)
def test_blocks_left_out_of_order_answer_alike_on_both_adapters(
    postgres_uow: PostgresUnitOfWorkFactory, scenario: object
) -> None:
    """Both adapters. An outer savepoint block is left while a block opened inside it is still
    open (generators closed in the wrong order, an ExitStack unwound by hand, two threads of
    one unit of work). Nothing refuses the out-of-order exit. On PostgreSQL, RELEASE / ROLLBACK
    TO of the outer block has destroyed the inner savepoint, so the inner block's exit fails
    with `StorageUnavailable: savepoint "shopdb_2" does not exist` (or, from a generator's
    close(), reports nothing at all), the whole unit of work is rolled back, and every later
    write and commit() raise RollbackRequired naming "a write (StorageUnavailable)", a call the
    caller never made; with threads, B's failed write rolls back the whole unit of work instead
    of its block. The fake carries on and commits (17, 1016 or 115 for what PostgreSQL stores
    as 10). Expected: the same answers and the same stored data on both adapters: leaving an
    outer block ends the blocks opened inside it, as rollback() does (their exits are then
    quiet), or is refused with UnitOfWorkMisuse before anything is rolled back."""
    results = both(postgres_uow, scenario)  # type: ignore[arg-type]
    memory, postgres = results["memory"][0], results["postgres"][0]
    print("\nmemory:  ", *memory, sep="\n  ")
    print("postgres:", *postgres, sep="\n  ")
    assert memory == postgres


# Exits that are not ours ---------------------------------------------------------------------


def test_leaving_a_block_twice_or_before_entering_it_raises_a_domain_error(
    uow: UnitOfWorkFactory,
) -> None:
    """Both adapters. `block.__exit__` on a savepoint block already left, or never entered
    (contextlib.ExitStack.pop_all / a generator-based wrapper calling it twice), raises
    `ValueError: list.remove(x): x not in list`, an internal error of the implementation.
    Expected: only DomainError subclasses escape the public API (README: "Every failure is a
    domain.errors.DomainError subclass"): UnitOfWorkNotActive or UnitOfWorkMisuse, rolling
    nothing back."""
    lamp = add_product(uow)
    with uow() as work:
        block = work.savepoint()
        with block:
            work.products.restock(lamp.id, 1)
        with pytest.raises(DomainError):
            block.__exit__(Boom, Boom(), None)
        with pytest.raises(DomainError):
            work.savepoint().__exit__(None, None, None)
        work.commit()
    assert stock(uow, lamp.id) == 11


def test_a_block_left_by_add_manys_iterable_is_refused_as_busy(uow: UnitOfWorkFactory) -> None:
    """Both adapters. Inside a savepoint block, `add_many`'s iterable calls the block's
    `__exit__` with an exception (as a generator wrapping its rows in the caller's block does
    when it fails). Entering a block from there raises UnitOfWorkBusy, but leaving one returns
    normally and does nothing: the block's restock of 2 is neither rolled back (the exception
    left the block: README "any exception leaving it rolls back only what the block wrote")
    nor refused, and the block can be left a second time later. Expected: UnitOfWorkBusy, as
    for every call from the iterable (README: "every call there raises UnitOfWorkBusy")."""
    lamp = add_product(uow, inventory=10)
    seen: list[BaseException | None] = []
    with uow() as work:
        block = work.savepoint()

        def rows() -> Iterator[object]:
            yield row(1)
            try:
                block.__exit__(Boom, Boom(), None)
                seen.append(None)
            except DomainError as exc:
                seen.append(exc)
            yield row(2)

        block.__enter__()
        work.products.restock(lamp.id, 2)
        work.products.add_many(rows())  # type: ignore[arg-type]
        block.__exit__(None, None, None)
        work.commit()
    assert type(seen[0]).__name__ == "UnitOfWorkBusy", f"the iterable's exit answered {seen}"


def _ids_after_a_failed_import(uow: UnitOfWorkFactory, t: Trace) -> None:
    def rows_then_boom() -> Iterator[object]:
        yield row(1)
        yield row(2)
        raise Boom

    with uow() as work:
        t("add_many", lambda: work.products.add_many(rows_then_boom()))  # type: ignore[arg-type]
        t("rollback", work.rollback)
        t("add", lambda: work.products.add(row(3)).id)
        t("commit", work.commit)
    with uow() as work:

        def block() -> None:
            with work.savepoint():
                work.products.add_many(iter([row(4), row(5), "not a product"]))  # type: ignore[arg-type]

        t("add_many in a block", block)
        t("add 2", lambda: work.products.add(row(6)).id)
        t("commit 2", work.commit)


def test_a_failed_import_leaves_the_same_ids_on_both_adapters(
    postgres_uow: PostgresUnitOfWorkFactory,
) -> None:
    """Both adapters (the fake differs). `add_many` fails part-way through the caller's rows (the
    iterable raises after two rows, or the third item is not a NewProduct), in the unit of work
    or in a block; the caller rolls back and adds one product, which is committed. PostgreSQL
    stores it as id 1 (then 2): the failed rows were still buffered for the COPY and consumed
    no identity value. The fake draws an id for each row before the failure, so the committed
    product is id 3 (then 6): the same calls store different data. Expected (README: the fakes
    assign ids "like identity columns"; the contract suite compares ids after rollback): the
    same ids on both adapters."""
    results = both(postgres_uow, _ids_after_a_failed_import)
    memory, postgres = results["memory"][0], results["postgres"][0]
    print("\nmemory:  ", *memory, sep="\n  ")
    print("postgres:", *postgres, sep="\n  ")
    assert memory == postgres


# Faults on PostgreSQL ------------------------------------------------------------------------


@pytest.mark.needs_session("its statement_timeout is a startup option")
def test_a_read_cancelled_in_a_block_that_wrote_nothing_refuses_no_write(
    clean_database: str,
) -> None:
    """PostgreSQL. In a savepoint block that has written nothing, a read is cancelled at
    statement_timeout (StorageUnavailable). The block then refuses every write with
    RollbackRequired("a read (StorageUnavailable) failed and rolled back its savepoint block:
    nothing written in the block is kept ...") and raises it again on exit. Outside a block the
    same read failure refuses nothing when the transaction held no writes (the writes go on).
    Expected, as the README says for reads the database fails: refused "when it took writes
    with it", so the write after it succeeds and the block ends quietly, as at the top."""
    with short_timeout(clean_database) as uow:
        lamp = add_product(uow)
        with psycopg.connect(clean_database) as other:
            other.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
            with uow() as work:
                work.products.restock(lamp.id, 1)
                with work.savepoint():
                    with pytest.raises(DomainError, match="statement_timeout"):
                        work.users.get_by_username("nobody")
                    work.products.restock(lamp.id, 2)
                work.commit()
            other.rollback()
        assert stock(uow, lamp.id) == 13


# Startup settings ----------------------------------------------------------------------------


def _start(url: str) -> str:
    """What `init_resources()` says with SHOPDB_CONNECT_ON_START for `url`, in a fresh
    process (the settings are read from its environment)."""
    code = (
        "from shopdb.container import Container\n"
        "from shopdb.settings import load_settings\n"
        "try:\n"
        "    c = Container(settings=load_settings())\n"
        "    c.init_resources()\n"
        "    print('started')\n"
        "    c.shutdown_resources()\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("SHOPDB_")}
    env |= {"DATABASE_URL": url, "SHOPDB_CONNECT_ON_START": "true", "SHOPDB_POOL_TIMEOUT": "2"}
    done = subprocess.run(  # noqa: S603 - this interpreter, fixed code
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, cwd="/"
    )
    return done.stdout + done.stderr


def _server(admin_url: str) -> str:
    parts = psycopg.conninfo.conninfo_to_dict(admin_url)
    return f"{parts.get('host', '127.0.0.1')}:{parts.get('port', 5432)}"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://nosuchuser@{server}/postgres?password=canary-s3cret",
        "postgresql://{server}/postgres?user=nosuchuser&password=canary-s3cret",
    ],
)
def test_connect_on_start_never_prints_a_password_given_as_a_parameter(
    admin_url: str, url: str
) -> None:
    """Startup. libpq takes the password from the URL's query string too
    (`postgresql://user@host/db?password=...`), and shopdb accepts such a DATABASE_URL. When the
    connection fails with SHOPDB_CONNECT_ON_START=true, the StorageUnavailable message prints
    the URL with that password in clear: `cannot connect to
    postgresql://nosuchuser@host:port/postgres?password=canary-s3cret within 2 s`. Expected
    (README): it names the server, "never the password", wherever the URL carries it."""
    said = _start(url.format(server=_server(admin_url)))
    assert "StorageUnavailable" in said
    assert "canary-s3cret" not in said, said


def test_an_at_sign_in_a_url_parameter_is_not_refused(admin_url: str) -> None:
    """Startup. `?application_name=shop@eu` (or `?password=a@b`) is a valid libpq URL: `@` needs
    no encoding in the query, and psycopg connects with it. load_settings() refuses it:
    `DATABASE_URL: cannot be parsed as a URL; percent-encode any of : / @ ? # % in the user
    name or password`, pointing at a user name and password that hold no `@`. Expected: the
    URL is accepted (the README asks for encoding in the user name or password only)."""
    parts = psycopg.conninfo.conninfo_to_dict(admin_url)
    host, port = parts.get("host", "127.0.0.1"), parts.get("port", 5432)
    # The server as parameters: the embedded one is reached through a socket directory.
    url = f"postgresql://postgres@/postgres?host={host}&port={port}&application_name=shop@eu"
    with contextlib.closing(psycopg.connect(url)) as conn:
        assert conn.info.parameter_status("application_name") == "shop@eu"
    said = _start(url)
    assert "started" in said, said


@pytest.mark.parametrize("name", ["SHOPDB_DATABASE_URL", "SHOPDB_DATABSE_URL"])
def test_a_misspelt_database_url_is_pointed_at_database_url(
    name: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Startup. `SHOPDB_DATABASE_URL` (the prefix every other setting has, put on the one
    that has none) is ignored with the WARNING `SHOPDB_DATABASE_URL is not a setting and is
    ignored: did you mean SHOPDB_MIGRATION_DATABASE_URL?`. Following the hint configures where
    migrations connect and leaves the application without its database. DATABASE_URL is the
    closer name (7 edits against 10). Expected (README: the warning names "the closest
    setting"): `did you mean DATABASE_URL?`."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv(name, "postgresql://postgres@127.0.0.1/test")
    with (
        caplog.at_level(logging.WARNING, logger="shopdb.settings"),
        contextlib.suppress(Exception),
    ):
        load_settings()
    assert f"{name} is not a setting" in caplog.text
    assert "did you mean DATABASE_URL?" in caplog.text, caplog.text
