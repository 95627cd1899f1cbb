"""Can we reach the database, and is its schema the one this code expects?"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from adapters.postgres.pool import ShopdbPool
from adapters.postgres.replicas import GUARD
from shopdb.settings import redact_url

if TYPE_CHECKING:
    from shopdb.container import Container

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


@dataclass(frozen=True, kw_only=True)
class PoolState:
    """One pool of a container, as one borrowed connection found it. `error` (one line, no
    password) when it did not answer within the deadline; otherwise, for the primary its
    server version and schema revision, for a replica its replay position and lag (seconds)."""

    name: str
    role: Literal["primary", "replica"]
    database: str  # the URL with its password masked
    pool: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    server_version: str | None = None
    revision: str | None = None
    head: str | None = None
    replayed: str | None = None
    lag_s: float | None = None

    @property
    def reachable(self) -> bool:
        return self.error is None

    @property
    def migrated(self) -> bool:
        return self.reachable and self.head is not None and self.revision == self.head

    def as_dict(self) -> dict[str, Any]:
        """The fields of its role (a replica has no revision, the primary no replay
        position); `error`, `replayed` and `lag_s` only when known; `migrated` for the
        primary."""
        fields = asdict(self)
        if self.role == "primary":
            fields["migrated"] = self.migrated
            skip = {"replayed", "lag_s"}
        else:
            skip = {"server_version", "revision", "head"}
        return {
            key: value
            for key, value in fields.items()
            if key not in skip and (value is not None or key not in {"error", "replayed", "lag_s"})
        }


@dataclass(frozen=True)
class Topology:
    """The primary and every replica pool of a container. Healthy when the primary answers
    at head revision: a replica that is down only sends its reads to the primary."""

    primary: PoolState
    replicas: tuple[PoolState, ...] = ()

    @property
    def healthy(self) -> bool:
        return self.primary.migrated

    def as_dict(self) -> dict[str, Any]:
        return {
            "primary": self.primary.as_dict(),
            "replicas": [replica.as_dict() for replica in self.replicas],
            "healthy": self.healthy,
        }


def _primary_state(pool: ShopdbPool, url: str, timeout: float) -> PoolState:
    from shopdb.migrations import head_revision

    state = PoolState(
        name=pool.name, role="primary", database=redact_url(url), pool=pool.get_stats()
    )
    watchdog = pool.deadlines.watchdog
    try:
        with pool.connection(timeout=timeout) as conn:
            watchdog.watch(conn, timeout)
            try:
                version, revision = _read(conn)
            finally:
                watchdog.done(conn)
    except (PoolTimeout, psycopg.Error) as exc:
        if isinstance(exc, PoolTimeout) and pool.last_connect_error:
            exc = PoolTimeout(pool.last_connect_error)
        return replace(state, pool=pool.get_stats(), error=str(_unreachable(url, exc)))
    return replace(
        state,
        pool=pool.get_stats(),
        server_version=version,
        revision=revision,
        head=head_revision(),
    )


def _replica_state(pool: ShopdbPool, url: str, timeout: float) -> PoolState:
    state = PoolState(
        name=pool.name, role="replica", database=redact_url(url), pool=pool.get_stats()
    )
    watchdog = pool.deadlines.watchdog
    try:
        with pool.connection(timeout=timeout) as conn:
            watchdog.watch(conn, timeout)
            try:
                row = conn.execute(GUARD).fetchone()
            finally:
                watchdog.done(conn)
    except (PoolTimeout, psycopg.Error) as exc:
        return replace(state, pool=pool.get_stats(), error=str(_unreachable(url, exc)))
    if row is None or row[0] is None:
        return replace(state, pool=pool.get_stats(), error="not in recovery: not a replica")
    return replace(
        state, pool=pool.get_stats(), replayed=str(row[0]), lag_s=round(float(row[1]), 3)
    )


def topology(container: Container, timeout: float = 5) -> Topology:
    """Health of every pool of a started container (needs the `migrations` extra): the
    primary's server version and revision, each replica's replay position and lag, each pool's
    statistics. The pools are asked at once: the primary for at most `timeout` seconds, each
    replica for at most its deadline (SHOPDB_REPLICA_DEADLINE_MS, or `timeout` if shorter),
    plus the watchdog's tick (0.2 s); a stopped or frozen server shows as an `error` within
    that, and never delays the others. Raises ValueError for the in-memory backend, which has
    no pools."""
    settings = container.settings()
    primary = container.pool()
    if primary is None:
        raise ValueError("the in-memory backend has no pools to check")
    limit = min(settings.replica_deadline_ms / 1000, timeout)
    replicas = list(zip(container.replica_pools(), settings.replicas(), strict=True))
    with ThreadPoolExecutor(1 + len(replicas), thread_name_prefix="shopdb-health") as run:
        first = run.submit(_primary_state, primary, container.database_url(), timeout)
        others = [run.submit(_replica_state, pool, url, limit) for pool, url in replicas]
        return Topology(first.result(), tuple(other.result() for other in others))
