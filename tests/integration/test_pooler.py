# Generated from test_pooler_async.py (tools/generate_sync.py): edit that instead.
"""Through PgBouncer in transaction mode (the pooler run: SHOPDB_POOLER=transaction, with
DATABASE_URL at the pooler and SHOPDB_TEST_ADMIN_URL at the server): the default settings are
refused with a clear error, pooler mode works, and the role's default timeouts hold."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

from adapters.postgres import PoolConfig, PostgresUnitOfWorkFactory, create_pool
from domain.errors import StorageUnavailable
from domain.model import NewProduct
from shopdb.cli import app
from shopdb.pooler import set_role_timeouts
from shopdb.roles import create_app_role
from shopdb.settings import load_settings
from shopdb.testdb import scratch_database, through_pooler, with_database

# Runs only through PgBouncer: the pooler run of .ci/run (SHOPDB_POOLER=transaction).
pytestmark = pytest.mark.pooler_only


def test_default_settings_are_refused_by_the_pooler_with_a_clear_error(
    clean_database: str,
) -> None:
    pool = create_pool(PoolConfig(conninfo=clean_database, min_size=0, max_size=1, timeout=3))
    try:
        with (
            pytest.raises(StorageUnavailable) as caught,
            PostgresUnitOfWorkFactory(pool)(read_only=True) as work,
        ):
            work.products.get(1)
    finally:
        pool.close()
    assert "unsupported startup parameter: options" in str(caught.value)
    assert "SHOPDB_POOLER=transaction" in str(caught.value)


def test_pooler_mode_runs_concurrent_units_of_work_without_prepared_statement_errors(
    clean_database: str,
) -> None:
    # With psycopg's automatic prepare this mix failed ~1 in 10 units of work through
    # PgBouncer 1.18 ("prepared statement _pg3_N already exists / does not exist").
    config = PoolConfig(conninfo=clean_database, min_size=4, max_size=4, transaction_pooler=True)
    pool = create_pool(config)
    uow = PostgresUnitOfWorkFactory(pool)
    try:
        with uow() as work:
            product = work.products.add(
                NewProduct(name="p", description="", price=Decimal("1.00"), inventory_count=10**6)
            )
            work.commit()

        def worker(_: int) -> int:
            for _ in range(100):
                with uow(read_only=True) as work:
                    assert work.products.get(product.id).id == product.id
                with uow() as work:
                    work.products.reserve(product.id, 1)
                    work.commit()
            return 100

        with ThreadPoolExecutor(4) as threads:
            done = sum(threads.map(worker, range(4)))
        with uow(read_only=True) as work:
            left = work.products.get(product.id).inventory_count
    finally:
        pool.close()
    assert done == 400
    assert left == 10**6 - 400


def _as_role(url: str, role: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{role}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def test_role_default_timeouts_hold_through_the_pooler(admin_url: str, database_url: str) -> None:
    name = urlsplit(database_url).path.lstrip("/")
    direct = with_database(admin_url, name)
    role = f"shopdb_pooled_{uuid.uuid4().hex[:8]}"
    create_app_role(direct, role)
    app_url = _as_role(database_url, role)
    settings = load_settings(
        DATABASE_URL=app_url, statement_timeout_ms=300, idle_in_transaction_timeout_ms=700
    )
    try:
        who, where, values = set_role_timeouts(direct, app_url, settings)
        assert (who, where) == (role, name)
        assert values["statement_timeout"] == 300
        pool = create_pool(
            PoolConfig(conninfo=app_url, min_size=1, max_size=1, transaction_pooler=True)
        )
        try:
            with pool.connection() as conn:
                shown = conn.execute("SHOW statement_timeout").fetchone()
                idle = conn.execute("SHOW idle_in_transaction_session_timeout").fetchone()
                with pytest.raises(psycopg.errors.QueryCanceled):
                    conn.execute("SELECT pg_sleep(3)")
        finally:
            pool.close()
        assert shown == ("300ms",)
        assert idle == ("700ms",)
    finally:
        with psycopg.connect(direct, autocommit=True) as conn:
            who_sql = sql.Identifier(role)
            conn.execute(sql.SQL("DROP OWNED BY {}").format(who_sql))
            conn.execute(
                sql.SQL("ALTER ROLE {} IN DATABASE {} RESET ALL").format(
                    who_sql, sql.Identifier(name)
                )
            )
            conn.execute(sql.SQL("DROP ROLE {}").format(who_sql))


def test_command_line_migrates_directly_and_checks_through_the_pooler(
    admin_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    with scratch_database(admin_url, prefix="shopdb_pooled_cli") as direct:
        monkeypatch.setenv("DATABASE_URL", through_pooler(direct))
        monkeypatch.setenv("SHOPDB_MIGRATION_DATABASE_URL", direct)
        monkeypatch.setenv("SHOPDB_STATEMENT_TIMEOUT_MS", "4000")
        monkeypatch.delenv("SHOPDB_BACKEND", raising=False)
        for command in (["migrate"], ["pooler-timeouts"], ["check"]):
            result = runner.invoke(app, command)
            assert result.exit_code == 0, result.output
        assert "healthy" in result.output
        with psycopg.connect(through_pooler(direct), prepare_threshold=None) as conn:
            assert conn.execute("SHOW statement_timeout").fetchone() == ("4s",)

        monkeypatch.setenv("SHOPDB_POOLER", "none")
        monkeypatch.setenv("SHOPDB_POOL_TIMEOUT", "2")
        refused = runner.invoke(app, ["check"])
    assert refused.exit_code == 1
    assert "unsupported startup parameter: options" in refused.output
    assert "set SHOPDB_POOLER=transaction" in refused.output
