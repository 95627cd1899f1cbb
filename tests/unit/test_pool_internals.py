"""LifoConnectionPool reaches into two internals of psycopg_pool (there is no public hook for the
order connections are handed out in). pyproject pins psycopg-pool below the next minor version;
this fails by name, before any behaviour test, if either internal is gone or changed shape."""

from __future__ import annotations

import inspect
from collections import deque

import psycopg_pool
from psycopg_pool import ConnectionPool

from adapters.postgres import PoolConfig, create_pool
from adapters.postgres.pool import LifoConnectionPool


def test_the_internals_lifo_turns_are_still_there() -> None:
    hook = getattr(ConnectionPool, "_get_ready_connection", None)
    assert hook is not None, (
        f"psycopg_pool {psycopg_pool.__version__} has no ConnectionPool._get_ready_connection:"
        " LifoConnectionPool must be rewritten (or SHOPDB_POOL_LIFO=false) before upgrading"
    )
    assert list(inspect.signature(hook).parameters) == ["self", "timeout"], (
        "ConnectionPool._get_ready_connection changed its signature"
    )
    pool = create_pool(PoolConfig(conninfo="postgresql:///unused"), open_now=False)
    assert isinstance(pool, LifoConnectionPool)
    ready = getattr(pool, "_pool", None)
    assert isinstance(ready, deque), "ConnectionPool._pool is no longer the deque of ready ones"


def test_psycopg_pool_is_within_the_pinned_series() -> None:
    major, minor = (int(part) for part in psycopg_pool.__version__.split(".")[:2])
    assert (major, minor) < (3, 4), "verify LifoConnectionPool against this psycopg_pool first"
