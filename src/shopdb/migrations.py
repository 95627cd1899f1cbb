"""Run the alembic migrations with the application's settings (the `migrations` extra)."""

from __future__ import annotations

import functools
import importlib.util
import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from shopdb.settings import redact_url

try:
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError
    from sqlalchemy import Connection, create_engine, pool, text
    from sqlalchemy.exc import SQLAlchemyError
except ModuleNotFoundError as exc:  # a core-only install: say which extra, in one line
    raise ModuleNotFoundError(
        "shopdb.migrations needs the migrations extra: pip install 'shopdb[migrations]'"
        f" (no module named {str(exc.name).partition('.')[0]!r})",
        name=str(exc.name).partition(".")[0],
    ) from None

SCHEMA_PACKAGE = "shopdb_schema"


class MigrationError(Exception):
    """A migration command failed; one line of ours, never the password or a traceback."""


@functools.cache
def schema_root() -> Path:
    """The folder holding alembic.ini and alembic/: the repository's top level in a checkout,
    the package `shopdb_schema` in an installed wheel. Found by the import system; not through
    importlib.resources.files(), which on Python 3.11 fails on a namespace package of an
    editable install (its path holds setuptools' placeholder, not a folder)."""
    spec = importlib.util.find_spec(SCHEMA_PACKAGE)
    for location in (spec.submodule_search_locations or []) if spec else []:
        if (Path(location) / "alembic.ini").is_file():
            return Path(location)
    raise MigrationError(f"the migrations are not installed (package {SCHEMA_PACKAGE})")


def sqlalchemy_url(url: str) -> str:
    """The same URL for SQLAlchemy, forced onto the psycopg 3 driver. libpq's multi-host form
    ("h1:5432,h2:5432" in the netloc, for failover) becomes SQLAlchemy's: one `host` parameter
    a host, which its psycopg dialect hands to libpq as the same list."""
    for scheme in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(scheme):
            url = "postgresql+psycopg://" + url[len(scheme) :]
            break
    else:
        return url
    parts = urlsplit(url)
    userinfo, at, hosts = parts.netloc.rpartition("@")
    if "," not in hosts:
        return url
    listed = "&".join(f"host={quote(host, safe=':[]')}" for host in hosts.split(","))
    query = f"{parts.query}&{listed}" if parts.query else listed
    # Spelt out: urlunsplit drops the "//" of an empty netloc.
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    return f"{parts.scheme}://{userinfo}{at}{parts.path}?{query}{fragment}"


# Any fixed number will do; every shopdb migration takes this one advisory lock.
MIGRATION_LOCK_KEY = 0x73686F7064626D69  # "shopdbmi"
TRY_LOCK = text("SELECT pg_try_advisory_lock(:key)")
UNLOCK = text("SELECT pg_advisory_unlock(:key)")
POLL_SECONDS = 0.05


class MigrationLockTimeout(MigrationError):
    """Another migration held the migration lock for longer than we were willing to wait."""


def alembic_config(
    url: str, *, lock_timeout_ms: int = 5000, wait_timeout_ms: int | None = None
) -> Config:
    """`wait_timeout_ms`: how long to wait for another migration to finish (default: the
    setting SHOPDB_MIGRATION_WAIT_TIMEOUT_MS, read when a migration runs)."""
    root = schema_root()
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "alembic"))
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
    """The URL alembic's own command line migrates: the settings' (the migration URL when set),
    embedded by default."""
    url = config.attributes.get("url")
    if url is None:
        from shopdb.database import database_url
        from shopdb.settings import load_settings

        settings = load_settings().with_embedded_default()
        return settings.migration_url(database_url(settings))
    return str(url)


def _one_line(exc: BaseException) -> str:
    # SQLAlchemy appends a "(Background on this error at: https://sqlalche.me/...)" line.
    text = str(getattr(exc, "orig", None) or exc).split("(Background on this error")[0]
    return " ".join(text.split()) or type(exc).__name__


@contextmanager
def _translated(action: str, url: str) -> Iterator[None]:
    """Alembic's and SQLAlchemy's errors as one line that names the action and the database."""
    try:
        yield
    except (CommandError, SQLAlchemyError) as exc:
        where = f" on {redact_url(url)}" if url else ""
        reason = _one_line(exc)
        secret = _password(url)
        if secret:
            reason = reason.replace(secret, "***")
        raise MigrationError(f"{action} failed{where}: {reason}") from exc


def _password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def upgrade(url: str, revision: str = "head", **options: Any) -> None:
    with _translated(f"upgrade to {revision}", url):
        command.upgrade(alembic_config(url, **options), revision)


def downgrade(url: str, revision: str, **options: Any) -> None:
    with _translated(f"downgrade to {revision}", url):
        command.downgrade(alembic_config(url, **options), revision)


def upgrade_sql(revisions: str = "base:head") -> str:
    """The SQL that `upgrade` would run, without a database (alembic's offline mode)."""
    buffer = io.StringIO()
    config = alembic_config("")
    config.output_buffer = buffer
    with _translated(f"SQL for {revisions}", ""):
        command.upgrade(config, revisions, sql=True)
    return buffer.getvalue()


@functools.cache
def head_revision() -> str:
    """The newest revision the installed code knows (read once: the scripts do not change)."""
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None
    return head


def history() -> list[tuple[str, str | None, str]]:
    """Every revision, newest first: (revision, the one before it, its docstring's first line)."""
    script = ScriptDirectory.from_config(alembic_config(""))
    return [
        (str(rev.revision), _down(rev.down_revision), (rev.doc or "").strip().partition("\n")[0])
        for rev in script.walk_revisions()
    ]


def _down(down: Any) -> str | None:
    if down is None or isinstance(down, str):
        return down
    return ",".join(down)


def current_revision(url: str) -> str | None:
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    try:
        with _translated("reading the schema revision", url), engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
