"""Logging, spans and metrics on PostgreSQL, through the OpenTelemetry SDK's in-memory exporters."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from adapters.telemetry import Telemetry
from domain.errors import InsufficientInventory
from domain.model import NewProduct
from services import AsyncAccountService, AsyncCartService, AsyncCatalogService
from shopdb.testdb import pool_config
from shopdb.testing import InsecureTestHasher
from tests.conftest import CountingConnection

if True:  # ASYNC
    import asyncio

    from adapters.postgres.async_pool import AsyncShopdbPool
    from adapters.postgres.unit_of_work_async import AsyncPostgresUnitOfWorkFactory
else:
    from adapters.postgres import PostgresUnitOfWorkFactory, ShopdbPool

PASSWORD = "correct horse battery staple"  # pragma: allowlist secret


class Otel:
    """A Telemetry over SDK providers whose spans and metrics the test reads back."""

    def __init__(self, **kwargs: Any) -> None:
        self.spans = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.telemetry = Telemetry.with_opentelemetry(
            tracer_provider=tracer_provider,
            meter_provider=MeterProvider(metric_readers=[self.reader]),
            **kwargs,
        )

    def finished(self) -> tuple[ReadableSpan, ...]:
        return tuple(self.spans.get_finished_spans())

    def points(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        if data is None:  # nothing measured at all
            return []
        return [
            point
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == name
            for point in metric.data.data_points
        ]


@pytest.fixture
def otel() -> Otel:
    return Otel()


def services(
    pool: AsyncShopdbPool, telemetry: Telemetry
) -> tuple[AsyncAccountService, AsyncCatalogService, AsyncCartService]:
    units = AsyncPostgresUnitOfWorkFactory(pool, telemetry)
    hasher = InsecureTestHasher()
    return (
        AsyncAccountService(units, hasher, telemetry),
        AsyncCatalogService(units, telemetry),
        AsyncCartService(units, telemetry),
    )


async def test_spans_per_use_case_and_statement_with_db_attributes(
    clean_database: str, pg_pool_async: AsyncShopdbPool, otel: Otel
) -> None:
    accounts, catalog, carts = services(pg_pool_async, otel.telemetry)
    lamp = await catalog.create_product("Desk lamp", "19.99", inventory_count=5)
    alice = await accounts.register("alice", "alice@example.com", PASSWORD)
    otel.spans.clear()
    await carts.add_to_cart(alice.id, lamp.id, 2)

    spans = otel.finished()
    (use_case,) = [s for s in spans if s.name == "AsyncCartService.add_to_cart"]
    statements = [s for s in spans if s.kind is SpanKind.CLIENT]
    assert len(spans) == len(statements) + 1
    assert use_case.context is not None
    assert all(s.parent is not None for s in statements)
    assert {s.parent.span_id for s in statements if s.parent} == {use_case.context.span_id}
    operations = [s.attributes["db.operation.name"] for s in statements if s.attributes]
    assert operations[0] == "BEGIN"  # add_to_cart writes from its first statement
    assert operations[-1] == "COMMIT"
    dbname = psycopg.conninfo.conninfo_to_dict(clean_database)["dbname"]
    for span in statements:
        attributes = dict(span.attributes or {})
        assert attributes["db.system.name"] == "postgresql"
        assert attributes["db.namespace"] == dbname
        assert attributes["server.address"]
        assert span.name == f"{attributes['db.operation.name']} {dbname}"
        text = str(attributes["db.query.text"])
        assert text.split()[0].upper() == attributes["db.operation.name"]
        # Values go as parameters: the text keeps its placeholders.
        assert attributes["db.operation.name"] in {"BEGIN", "COMMIT"} or "%" in text
    assert use_case.status.status_code is StatusCode.UNSET


async def test_a_failed_use_case_is_an_error_span_naming_the_error_class_only(
    clean_database: str, pg_pool_async: AsyncShopdbPool, otel: Otel
) -> None:
    accounts, catalog, carts = services(pg_pool_async, otel.telemetry)
    lamp = await catalog.create_product("Desk lamp", "19.99", inventory_count=1)
    alice = await accounts.register("alice", "alice@example.com", PASSWORD)
    otel.spans.clear()
    with pytest.raises(InsufficientInventory):
        await carts.add_to_cart(alice.id, lamp.id, 2)
    (use_case,) = [s for s in otel.finished() if s.name == "AsyncCartService.add_to_cart"]
    assert use_case.status.status_code is StatusCode.ERROR
    assert (use_case.attributes or {})["error.type"] == "InsufficientInventory"
    assert not use_case.events  # no exception event: its message could carry input


async def test_duration_histogram_and_pool_gauges(
    clean_database: str, pg_pool_async: AsyncShopdbPool, otel: Otel
) -> None:
    _, catalog, _ = services(pg_pool_async, otel.telemetry)
    otel.telemetry.watch_pool(pg_pool_async)
    lamp = await catalog.create_product("Desk lamp", "19.99")
    await catalog.get_product(lamp.id)
    statements = [s for s in otel.finished() if s.kind is SpanKind.CLIENT]

    durations = otel.points("db.client.operation.duration")
    assert sum(p.count for p in durations) == len(statements) == 2
    by_operation = {p.attributes["db.operation.name"]: p for p in durations}
    assert set(by_operation) == {"INSERT", "SELECT"}
    assert all(p.attributes["db.system.name"] == "postgresql" for p in durations)
    assert all("db.query.text" not in p.attributes for p in durations)  # unbounded cardinality

    stats = pg_pool_async.get_stats()
    counts = {
        p.attributes["db.client.connection.state"]: p.value
        for p in otel.points("db.client.connection.count")
    }
    assert counts["idle"] + counts["used"] == stats["pool_size"]
    assert counts["used"] == 0  # every unit of work gave its connection back
    (largest,) = otel.points("db.client.connection.max")
    assert largest.value == stats["pool_max"] == 8
    (waiting,) = otel.points("db.client.connection.pending_requests")
    assert waiting.value == 0


async def test_gauges_count_a_lent_connection_and_forget_a_closed_pool(
    clean_database: str, otel: Otel
) -> None:
    if True:  # ASYNC
        from adapters.postgres.async_pool import create_pool_async

        pool = create_pool_async(pool_config(conninfo=clean_database, min_size=1, max_size=3))
        await pool.open(wait=True)
    else:
        from adapters.postgres import create_pool

        pool = create_pool(pool_config(conninfo=clean_database, min_size=1, max_size=3))
        pool.wait()
    otel.telemetry.watch_pool(pool)
    async with pool.connection():
        counts = {
            p.attributes["db.client.connection.state"]: p.value
            for p in otel.points("db.client.connection.count")
        }
        assert counts["used"] == 1
    await pool.close()
    assert otel.points("db.client.connection.count") == []


def _logged_counts(records: list[logging.LogRecord]) -> list[int]:
    return [
        int(m.group(1))
        for r in records
        if r.name == "shopdb.postgres" and (m := re.search(r"(\d+) statements", r.getMessage()))
    ]


@pytest.mark.parametrize("with_otel", [False, True], ids=["logging", "logging+otel"])
async def test_debug_record_per_unit_of_work_counts_the_statements_sent(
    clean_database: str,
    pg_pool_async: AsyncShopdbPool,
    caplog: pytest.LogCaptureFixture,
    with_otel: bool,
) -> None:
    telemetry = Otel().telemetry if with_otel else Telemetry()
    accounts, catalog, carts = services(pg_pool_async, telemetry)
    caplog.set_level(logging.DEBUG, logger="shopdb")
    lamp = await catalog.create_product("Desk lamp", "19.99", inventory_count=5)
    alice = await accounts.register("alice", "alice@example.com", PASSWORD)
    for action in (
        lambda: carts.add_to_cart(alice.id, lamp.id, 2),  # BEGIN and COMMIT among them
        lambda: catalog.get_product(lamp.id),
        lambda: carts.checkout(alice.id),
    ):
        caplog.clear()
        before = CountingConnection.statements  # the pool's connections count on their own
        await action()
        sent = CountingConnection.statements - before
        assert sum(_logged_counts(caplog.records)) == sent > 0
        (use_case,) = [r for r in caplog.records if r.name == "shopdb.services"]
        assert f"{sent} statements" in use_case.getMessage()
        assert use_case.levelno == logging.DEBUG


async def test_a_use_case_counts_its_statements_with_only_its_own_logger_at_debug(
    clean_database: str, pg_pool_async: AsyncShopdbPool, caplog: pytest.LogCaptureFixture
) -> None:
    _, catalog, _ = services(pg_pool_async, Telemetry())
    caplog.set_level(logging.WARNING, logger="shopdb.postgres")
    caplog.set_level(logging.DEBUG, logger="shopdb.services")  # last: it sets the handler's too
    before = CountingConnection.statements
    await catalog.create_product("Desk lamp", "19.99")
    sent = CountingConnection.statements - before
    (record,) = caplog.records
    assert record.name == "shopdb.services"
    assert f": ok, {sent} statements in 1 units of work" in record.getMessage()


async def test_a_bulk_import_is_one_copy_statement_between_begin_and_commit(
    clean_database: str,
    pg_pool_async: AsyncShopdbPool,
    otel: Otel,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, catalog, _ = services(pg_pool_async, otel.telemetry)
    caplog.set_level(logging.DEBUG, logger="shopdb")
    rows = [NewProduct(name=f"P{i}", price=Decimal("1.00"), inventory_count=1) for i in range(50)]
    assert await catalog.import_products(rows) == 50
    statements = [s for s in otel.finished() if s.kind is SpanKind.CLIENT]
    operations = [(s.attributes or {})["db.operation.name"] for s in statements]
    assert operations == ["BEGIN", "COPY", "COMMIT"]  # the rows travel inside the COPY
    assert "FROM STDIN" in str((statements[1].attributes or {})["db.query.text"])
    assert all(s.status.status_code is StatusCode.UNSET for s in statements)
    assert _logged_counts(caplog.records) == [3]


async def test_nothing_secret_in_logs_or_spans(
    clean_database: str,
    pg_pool_async: AsyncShopdbPool,
    otel: Otel,
    caplog: pytest.LogCaptureFixture,
) -> None:
    accounts, _, _ = services(pg_pool_async, otel.telemetry)
    caplog.set_level(logging.DEBUG, logger="shopdb")
    alice = await accounts.register("alice", "alice@example.com", PASSWORD)
    await accounts.authenticate("alice", PASSWORD)
    told = caplog.text + repr([dict(s.attributes or {}) for s in otel.finished()])
    told += repr([s.name for s in otel.finished()])
    assert _logged_counts(caplog.records)  # it did log
    for secret in (PASSWORD, alice.password_hash, alice.password_hash.split("$")[-1]):
        assert secret not in told
    for value in ("alice@example.com", "'alice'"):  # no parameter values either
        assert value not in told
    password = psycopg.conninfo.conninfo_to_dict(clean_database).get("password")
    if password:
        assert str(password) not in told


@pytest.fixture
async def held_lock(
    clean_database: str, pg_pool_async: AsyncShopdbPool
) -> AsyncIterator[tuple[int, threading.Event]]:
    """A product whose row another connection holds locked until the event is set."""
    _, catalog, _ = services(pg_pool_async, Telemetry())
    lamp = await catalog.create_product("Desk lamp", "19.99", inventory_count=5)
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with psycopg.connect(clean_database) as conn:
            conn.execute("SELECT 1 FROM products WHERE id = %s FOR UPDATE", (lamp.id,))
            locked.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(10)
    timer = threading.Timer(0.2, release.set)  # the reservation waits ~200 ms for the lock
    timer.start()
    yield lamp.id, release
    release.set()
    timer.cancel()
    holder.join()


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
async def test_a_slow_statement_is_a_warning(
    pg_pool_async: AsyncShopdbPool,
    held_lock: tuple[int, threading.Event],
    caplog: pytest.LogCaptureFixture,
    debug: bool,
) -> None:
    product_id, _ = held_lock
    caplog.set_level(logging.DEBUG if debug else logging.WARNING, logger="shopdb")
    units = AsyncPostgresUnitOfWorkFactory(pg_pool_async, Telemetry(slow_statement_ms=50))
    async with units(autocommit=True) as uow:
        await uow.products.reserve(product_id, 1)
    (slow,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert slow.name == "shopdb.postgres"
    message = slow.getMessage()
    assert "threshold 50 ms" in message
    if debug:  # the probe names the statement, with its placeholders
        assert message.startswith("slow statement:")
        assert "UPDATE products SET inventory_count" in message
        assert "%(id)s" in message
    else:
        assert message.startswith("slow database call:")


async def test_no_slow_warning_below_the_threshold_or_when_off(
    clean_database: str, pg_pool_async: AsyncShopdbPool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="shopdb")
    for telemetry in (Telemetry(slow_statement_ms=10_000), Telemetry(slow_statement_ms=0)):
        _, catalog, _ = services(pg_pool_async, telemetry)
        await catalog.create_product("Desk lamp", "19.99")
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


if True:  # ASYNC

    async def _blocked(watcher: psycopg.AsyncConnection[Any], holder: int) -> None:
        """Until a session waits for a lock the session `holder` holds."""
        blocked = "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))"
        async with asyncio.timeout(10):
            while True:
                row = await (await watcher.execute(blocked, (holder,))).fetchone()
                if row and row[0]:
                    return
                await asyncio.sleep(0.01)

    @pytest.mark.needs_session(
        "finds the blocked statement by the holder's backend pid, which a pooler does not show"
    )
    async def test_a_cancelled_use_case_is_reported_as_cancelled_not_as_failed(
        clean_database: str,
        pg_pool_async: AsyncShopdbPool,
        otel: Otel,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """A task cancelled while its statement waits (on a row lock here) gave up by its
        caller's decision: the records say `cancelled`, the spans and the duration say
        shopdb.cancelled, with no error status and no error.type. Nothing is left changed."""
        _, catalog, _ = services(pg_pool_async, otel.telemetry)
        lamp = await catalog.create_product("Desk lamp", "19.99", inventory_count=5)
        caplog.set_level(logging.DEBUG, logger="shopdb")
        async with (
            await psycopg.AsyncConnection.connect(clean_database) as holder,
            await psycopg.AsyncConnection.connect(clean_database, autocommit=True) as watcher,
        ):
            await holder.execute("SELECT 1 FROM products WHERE id = %s FOR UPDATE", (lamp.id,))
            otel.spans.clear()
            caplog.clear()
            restocking = asyncio.create_task(catalog.restock(lamp.id, 1))
            await _blocked(watcher, holder.info.backend_pid)
            restocking.cancel()
            with pytest.raises(asyncio.CancelledError):
                await restocking
            await holder.rollback()

        records = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
        assert records[0].startswith("unit of work (autocommit): cancelled, 1 statements")
        assert records[1].startswith(
            "use case AsyncCatalogService.restock: cancelled, 1 statements"
        )
        spans = otel.finished()
        (use_case,) = [s for s in spans if s.name == "AsyncCatalogService.restock"]
        (update,) = [s for s in spans if s.kind is SpanKind.CLIENT]
        for span in (use_case, update):
            assert span.status.status_code is StatusCode.UNSET
            assert (span.attributes or {}).get("shopdb.cancelled") is True
            assert "error.type" not in (span.attributes or {})
        points = otel.points("db.client.operation.duration")  # the INSERT's too
        (point,) = [p for p in points if p.attributes["db.operation.name"] == "UPDATE"]
        assert point.attributes["shopdb.cancelled"] is True
        assert "error.type" not in point.attributes
        # The statement was cancelled on the server too: the stock is as it was, and the
        # connection went back to the pool fit for the next unit of work.
        assert (await catalog.get_product(lamp.id)).inventory_count == 5
