"""Concurrent operators: migrations at once on a fresh database, and one under a live pool."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from adapters.postgres import PostgresUnitOfWorkFactory, create_pool
from domain.model import NewProduct
from services import CatalogService
from shopdb.cli import app
from shopdb.migrations import (
    MIGRATION_LOCK_KEY,
    MigrationError,
    MigrationLockTimeout,
    current_revision,
    head_revision,
    upgrade,
)
from shopdb.testdb import pool_config, scratch_database

PROCESSES = 3
TRIALS = 4

# Each process imports everything first, then waits for the same go file, so that their
# migrations really start together (an import takes longer than a migration of an empty
# database, so processes started one after the other would rarely overlap).
MIGRATOR = """
import os, sys, time
from shopdb.migrations import upgrade
while not os.path.exists(sys.argv[2]):
    time.sleep(0.001)
upgrade(sys.argv[1])
"""


def _held_lock(url: str) -> psycopg.Connection[object]:
    conn = psycopg.connect(url, autocommit=True)
    conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
    return conn


def test_concurrent_migrations_all_succeed_and_end_at_head(admin_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for trial in range(TRIALS):
        go = tmp_path / f"go-{trial}"
        with scratch_database(admin_url, prefix="shopdb_migrate_race") as url:
            procs = [
                subprocess.Popen(  # noqa: S603 - our own interpreter and script
                    [sys.executable, "-c", MIGRATOR, url, str(go)],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for _ in range(PROCESSES)
            ]
            time.sleep(2.0)  # let them import; a late one still migrates, after the others
            go.touch()
            outcomes = [(p.wait(timeout=120), p.communicate()[1]) for p in procs]
            assert [code for code, _ in outcomes] == [0] * PROCESSES, outcomes
            assert current_revision(url) == head_revision()
            with psycopg.connect(url) as conn:
                versions = conn.execute("SELECT version_num FROM alembic_version").fetchall()
            assert versions == [(head_revision(),)]


def test_a_migration_waits_for_the_one_running(admin_url: str) -> None:
    with scratch_database(admin_url, prefix="shopdb_migrate_wait") as url:
        holder = _held_lock(url)
        done = threading.Event()
        errors: list[BaseException] = []

        def migrate() -> None:
            try:
                upgrade(url, wait_timeout_ms=30_000)
            except BaseException as exc:  # reported by the assert below
                errors.append(exc)
            finally:
                done.set()

        worker = threading.Thread(target=migrate)
        worker.start()
        # While the lock is held, nothing at all is created (not even the version table).
        assert not done.wait(1.0)
        assert current_revision(url) is None
        holder.close()
        worker.join(timeout=60)
        assert errors == []
        assert current_revision(url) == head_revision()


def test_waiting_for_the_lock_is_bounded(admin_url: str) -> None:
    with scratch_database(admin_url, prefix="shopdb_migrate_bound") as url:
        holder = _held_lock(url)
        try:
            started = time.monotonic()
            with pytest.raises(MigrationLockTimeout, match="SHOPDB_MIGRATION_WAIT_TIMEOUT_MS"):
                upgrade(url, wait_timeout_ms=300)
            print(f"gave up after {time.monotonic() - started:.2f} s (limit 0.3 s)")
            assert current_revision(url) is None
        finally:
            holder.close()
        upgrade(url, wait_timeout_ms=300)  # the lock was not left behind by the failed wait
        assert current_revision(url) == head_revision()


def test_cli_reports_a_lock_wait_in_one_line(
    admin_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with scratch_database(admin_url, prefix="shopdb_migrate_cli") as url:
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.delenv("SHOPDB_BACKEND", raising=False)
        monkeypatch.setenv("SHOPDB_MIGRATION_WAIT_TIMEOUT_MS", "200")
        holder = _held_lock(url)
        try:
            result = CliRunner().invoke(app, ["migrate"])
        finally:
            holder.close()
        assert result.exit_code == 1, result.output
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, lines
        assert lines[0].startswith("error: another migration held")
        assert current_revision(url) is None


SEARCH_AT_0002 = (
    'SELECT id, name FROM products WHERE name LIKE %s ORDER BY name COLLATE "C", id LIMIT 5'
)


def test_migration_under_a_live_pool(admin_url: str) -> None:
    """0003 builds indexes on products while a pool reads and writes them all along. The
    repositories' reads need the schema at head (0007 adds deleted_at), so the reads here are
    the search's own kind of statement, sent through the same pool."""
    with scratch_database(admin_url, prefix="shopdb_migrate_live") as url:
        upgrade(url, "0002")
        pool = create_pool(pool_config(conninfo=url, min_size=2, max_size=4, timeout=10))
        catalog = CatalogService(PostgresUnitOfWorkFactory(pool))
        stop = threading.Event()
        failures: list[BaseException] = []
        done = [0, 0]

        def work(slot: int) -> None:
            try:
                while not stop.is_set():
                    catalog.import_products(
                        NewProduct(name=f"P{slot}-{done[slot]}-{i}", price=Decimal("1.00"))
                        for i in range(50)
                    )
                    with pool.connection() as conn:
                        conn.execute(SEARCH_AT_0002, ("P%",)).fetchall()
                    done[slot] += 1
            except BaseException as exc:  # reported by the assert below
                failures.append(exc)

        workers = [threading.Thread(target=work, args=(slot,)) for slot in range(2)]
        try:
            for worker in workers:
                worker.start()
            time.sleep(0.5)
            upgrade(url)
            time.sleep(0.5)
        finally:
            stop.set()
            for worker in workers:
                worker.join(timeout=60)
            pool.close()
        print(f"rounds of import + search by each worker: {done}")
        assert failures == []
        assert current_revision(url) == head_revision()
        assert min(done) > 0


def test_a_failed_migration_releases_the_lock(admin_url: str) -> None:
    """0003 cannot lock products while another session holds it, and fails on lock_timeout;
    the next migration must not then find the migration lock still taken."""
    with scratch_database(admin_url, prefix="shopdb_migrate_fail") as url:
        upgrade(url, "0002")
        with psycopg.connect(url) as blocker:
            blocker.execute("LOCK TABLE products IN ACCESS EXCLUSIVE MODE")
            with pytest.raises(MigrationError, match="lock timeout"):
                upgrade(url, lock_timeout_ms=200, wait_timeout_ms=300)
        assert current_revision(url) == "0002"
        upgrade(url, wait_timeout_ms=300)
        assert current_revision(url) == head_revision()
