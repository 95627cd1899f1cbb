"""Through PgBouncer in transaction mode (the pooler run: SHOPDB_POOLER=transaction, with
DATABASE_URL at the pooler and SHOPDB_TEST_ADMIN_URL at the server): the default settings are
refused with a clear error, pooler mode works, and the role's default timeouts hold."""

from __future__ import annotations

import uuid
from decimal import Decimal
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from adapters.postgres import PoolConfig
from domain.errors import StorageUnavailable
from domain.model import NewProduct
from shopdb.pooler import set_role_timeouts
from shopdb.roles import create_app_role
from shopdb.settings import load_settings
from shopdb.testdb import with_database

if True:  # ASYNC
    import asyncio

    from adapters.postgres.async_pool import create_pool_async
    from adapters.postgres.unit_of_work_async import AsyncPostgresUnitOfWorkFactory
else:
    from concurrent.futures import ThreadPoolExecutor

    from typer.testing import CliRunner

    from adapters.postgres import PostgresUnitOfWorkFactory, create_pool
    from shopdb.cli import app
    from shopdb.testdb import scratch_database, through_pooler

# Runs only through PgBouncer: the pooler run of .ci/run (SHOPDB_POOLER=transaction).
pytestmark = pytest.mark.pooler_only


async def test_default_settings_are_refused_by_the_pooler_with_a_clear_error(
    clean_database: str,
) -> None:
    pool = create_pool_async(PoolConfig(conninfo=clean_database, min_size=0, max_size=1, timeout=3))
    if True:  # ASYNC
        await pool.open()
    try:
        if True:  # ASYNC
            with pytest.raises(StorageUnavailable) as caught:
                async with AsyncPostgresUnitOfWorkFactory(pool)(read_only=True) as work:
                    await work.products.get(1)
        else:
            with (
                pytest.raises(StorageUnavailable) as caught,
                PostgresUnitOfWorkFactory(pool)(read_only=True) as work,
            ):
                work.products.get(1)
    finally:
        await pool.close()
    assert "unsupported startup parameter: options" in str(caught.value)
    assert "SHOPDB_POOLER=transaction" in str(caught.value)


async def test_pooler_mode_runs_concurrent_units_of_work_without_prepared_statement_errors(
    clean_database: str,
) -> None:
    # With psycopg's automatic prepare this mix failed ~1 in 10 units of work through
    # PgBouncer 1.18 ("prepared statement _pg3_N already exists / does not exist").
    config = PoolConfig(conninfo=clean_database, min_size=4, max_size=4, transaction_pooler=True)
    pool = create_pool_async(config)
    if True:  # ASYNC
        await pool.open()
    uow = AsyncPostgresUnitOfWorkFactory(pool)
    try:
        async with uow() as work:
            product = await work.products.add(
                NewProduct(name="p", description="", price=Decimal("1.00"), inventory_count=10**6)
            )
            await work.commit()

        async def worker(_: int) -> int:
            for _ in range(100):
                async with uow(read_only=True) as work:
                    assert (await work.products.get(product.id)).id == product.id
                async with uow() as work:
                    await work.products.reserve(product.id, 1)
                    await work.commit()
            return 100

        if True:  # ASYNC
            done = sum(await asyncio.gather(*(worker(n) for n in range(4))))
        else:
            with ThreadPoolExecutor(4) as threads:
                done = sum(threads.map(worker, range(4)))
        async with uow(read_only=True) as work:
            left = (await work.products.get(product.id)).inventory_count
    finally:
        await pool.close()
    assert done == 400
    assert left == 10**6 - 400


def _as_role(url: str, role: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{role}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


async def test_role_default_timeouts_hold_through_the_pooler(
    admin_url: str, database_url: str
) -> None:
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
        pool = create_pool_async(
            PoolConfig(conninfo=app_url, min_size=1, max_size=1, transaction_pooler=True)
        )
        if True:  # ASYNC
            await pool.open()
        try:
            async with pool.connection() as conn:
                shown = await (await conn.execute("SHOW statement_timeout")).fetchone()
                idle = await (
                    await conn.execute("SHOW idle_in_transaction_session_timeout")
                ).fetchone()
                with pytest.raises(psycopg.errors.QueryCanceled):
                    await conn.execute("SELECT pg_sleep(3)")
        finally:
            await pool.close()
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


if True:  # ASYNC
    pass  # the command line has no async form: its test is the sync module's
else:

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
