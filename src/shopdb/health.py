"""Can we reach the database, and is its schema the one this code expects?"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from adapters.postgres.pool import ShopdbPool
from adapters.postgres.replicas import GUARD
from shopdb.settings import redact_url

SERVER = "SELECT current_setting('server_version'), to_regclass('alembic_version') IS NOT NULL"
REVISION = "SELECT string_agg(version_num, ',' ORDER BY version_num) FROM alembic_version"


class DatabaseUnreachable(Exception):
    """One line saying why; never the password."""


def _password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def _unreachable(url: str, exc: BaseException) -> DatabaseUnreachable:
    reason = " ".join(str(exc).split()) or type(exc).__name__
    secret = _password(url)
    if secret:
        reason = reason.replace(secret, "***")
    where = redact_url(url) if url else "the pool's database"
    return DatabaseUnreachable(f"cannot connect to {where}: {reason}")


def probe(url: str, timeout: int = 5) -> str:
    """Connect once and return the server version, or raise DatabaseUnreachable."""
    try:
        with psycopg.connect(url, connect_timeout=timeout, autocommit=True) as conn:
            return _read(conn)[0]
    except (psycopg.Error, ValueError) as exc:
        raise _unreachable(url, exc) from None


@dataclass(frozen=True)
class Health:
    server_version: str
    revision: str | None
    head: str

    @property
    def migrated(self) -> bool:
        return self.revision == self.head

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "migrated": self.migrated}


def _read(conn: psycopg.Connection[Any]) -> tuple[str, str | None]:
    """Server version and schema revision (None before the first migration); plain SQL, so
    no second connection for SQLAlchemy."""
    row = conn.execute(SERVER).fetchone()
    assert row is not None
    version, migrated_once = str(row[0]), bool(row[1])
    if not migrated_once:
        return version, None
    revision = conn.execute(REVISION).fetchone()
    return version, revision[0] if revision else None


def health(
    url: str | None = None, *, pool: ConnectionPool[Any] | None = None, timeout: float = 5
) -> Health:
    """The server's version and schema revision against the code's head revision (needs the
    `migrations` extra). With `pool`, one connection borrowed from it for two statements;
    otherwise one new connection to `url`. Raises DatabaseUnreachable within `timeout`."""
    try:
        from shopdb.migrations import head_revision
    except ModuleNotFoundError as exc:  # a core-only install: say which extra, in one line
        raise ModuleNotFoundError(
            "health() needs the migrations extra: pip install 'shopdb[migrations]'"
            f" (no module named {str(exc.name).partition('.')[0]!r})",
            name=str(exc.name).partition(".")[0],
        ) from None

    if pool is not None:
        try:
            with pool.connection(timeout=timeout) as conn:
                version, revision = _read(conn)
        except (PoolTimeout, psycopg.Error) as exc:
            conninfo = pool.conninfo if isinstance(pool.conninfo, str) else ""
            raise _unreachable(conninfo, exc) from None
    elif url is not None:
        try:
            with psycopg.connect(url, connect_timeout=int(timeout), autocommit=True) as conn:
                version, revision = _read(conn)
        except (psycopg.Error, ValueError) as exc:
            raise _unreachable(url, exc) from None
    else:
        raise TypeError("health() needs a url or a pool")
    return Health(server_version=version, revision=revision, head=head_revision())


def replica_state(pool: ShopdbPool, url: str, timeout: float) -> dict[str, Any]:
    """What a replica's pool reaches: its replay position and lag behind the primary
    (seconds), and the pool's statistics; or `error`, one line, when it does not answer within
    `timeout` (a replica that is down leaves the primary healthy: reads go on there)."""
    state: dict[str, Any] = {"database": redact_url(url), "pool": pool.get_stats()}
    watchdog = pool.deadlines.watchdog
    try:
        with pool.connection(timeout=timeout) as conn:
            watchdog.watch(conn, timeout)
            try:
                row = conn.execute(GUARD).fetchone()
            finally:
                watchdog.done(conn)
    except (PoolTimeout, psycopg.Error) as exc:
        return {**state, "error": str(_unreachable(url, exc))}
    if row is None or row[0] is None:
        return {**state, "error": "not in recovery: not a replica"}
    return {**state, "replayed": row[0], "lag_s": round(float(row[1]), 3)}
