"""Run the alembic migrations with the application's settings."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, pool, text

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def sqlalchemy_url(url: str) -> str:
    """The same URL for SQLAlchemy, forced onto the psycopg 3 driver."""
    for scheme in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


# Any fixed number will do; every shopdb migration takes this one advisory lock.
MIGRATION_LOCK_KEY = 0x73686F7064626D69  # "shopdbmi"
TRY_LOCK = text("SELECT pg_try_advisory_lock(:key)")
UNLOCK = text("SELECT pg_advisory_unlock(:key)")
POLL_SECONDS = 0.05


class MigrationLockTimeout(Exception):
    """Another migration held the migration lock for longer than we were willing to wait."""


def alembic_config(
    url: str, *, lock_timeout_ms: int = 5000, wait_timeout_ms: int | None = None
) -> Config:
    """`wait_timeout_ms`: how long to wait for another migration to finish (default: the
    setting SHOPDB_MIGRATION_WAIT_TIMEOUT_MS, read when a migration runs)."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.attributes["url"] = url
    config.attributes["lock_timeout_ms"] = lock_timeout_ms
    config.attributes["wait_timeout_ms"] = wait_timeout_ms
    return config


@contextmanager
def migration_lock(connection: Connection, wait_timeout_ms: int) -> Iterator[None]:
    """Hold the migration lock on `connection` for the block: concurrent migrations run one
    after the other, each reading the version table only once the one before has committed.

    Session-level, so it spans every transaction alembic opens; taken by polling, so the wait
    is bounded without changing the connection's `lock_timeout`. Raises MigrationLockTimeout.
    Left in a transaction of its own making, the connection is handed back outside one, as
    alembic would otherwise take it for the caller's and never commit."""
    external = connection.in_transaction()
    deadline = time.monotonic() + wait_timeout_ms / 1000
    while not connection.execute(TRY_LOCK, {"key": MIGRATION_LOCK_KEY}).scalar():
        if time.monotonic() >= deadline:
            if not external:
                connection.rollback()
            raise MigrationLockTimeout(
                f"another migration held the migration lock for {wait_timeout_ms / 1000:g} s;"
                " gave up waiting (SHOPDB_MIGRATION_WAIT_TIMEOUT_MS)"
            )
        if not external:
            connection.rollback()  # not idle in a transaction while waiting
        time.sleep(POLL_SECONDS)
    if not external:
        connection.commit()
    yield
    # Only on success: after a failure the transaction may be aborted. Our own connection is
    # closed right after, which releases the lock; a caller's keeps it until closed.
    connection.execute(UNLOCK, {"key": MIGRATION_LOCK_KEY})
    if not external:
        connection.commit()


def wait_timeout_ms(config: Config) -> int:
    wait = config.attributes.get("wait_timeout_ms")
    if wait is None:
        from shopdb.settings import load_settings

        return load_settings().migration_wait_timeout_ms
    return int(wait)


def target_url(config: Config) -> str:
    url = config.attributes.get("url")
    if url is None:
        from shopdb.settings import load_settings

        settings = load_settings()
        if settings.database_url is None:
            from shopdb.embedded import embedded_url

            data_dir = settings.embedded_data_dir
            return embedded_url(Path(data_dir) if data_dir else None)
        return settings.database_url.get_secret_value()
    return str(url)


def upgrade(url: str, revision: str = "head", **options: Any) -> None:
    command.upgrade(alembic_config(url, **options), revision)


def downgrade(url: str, revision: str, **options: Any) -> None:
    command.downgrade(alembic_config(url, **options), revision)


def upgrade_sql(revisions: str = "base:head") -> str:
    """The SQL that `upgrade` would run, without a database (alembic's offline mode)."""
    buffer = io.StringIO()
    config = alembic_config("")
    config.output_buffer = buffer
    command.upgrade(config, revisions, sql=True)
    return buffer.getvalue()


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None
    return head


def current_revision(url: str) -> str | None:
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
