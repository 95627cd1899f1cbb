"""Failing fast at startup: with SHOPDB_CONNECT_ON_START, init_resources() connects or says
which server it could not reach; without it, init_resources() connects nowhere."""

from __future__ import annotations

import socket
import time

import pytest

from domain.errors import StorageUnavailable
from shopdb.container import Container
from shopdb.settings import Settings

CANARY = "canary-pw-start-91c4"


def _closed_port() -> int:
    """A local port nothing listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _unreachable(**settings: object) -> Settings:
    url = f"postgresql://shop:{CANARY}@127.0.0.1:{_closed_port()}/shop"
    return Settings(DATABASE_URL=url, pool_timeout=1.5, **settings)  # type: ignore[arg-type]


def test_connect_on_start_fails_at_init_resources_naming_the_server() -> None:
    settings = _unreachable(connect_on_start=True)
    container = Container(settings=settings)
    started = time.monotonic()
    with pytest.raises(StorageUnavailable) as info:
        container.init_resources()
    elapsed = time.monotonic() - started
    print(f"init_resources() failed after {elapsed:.2f} s (SHOPDB_POOL_TIMEOUT=1.5)")
    message = str(info.value)
    redacted = settings.redacted_database_url()
    assert redacted is not None
    assert redacted in message  # host and port, the password as ***
    assert "SHOPDB_CONNECT_ON_START" in message
    assert "refused" in message  # libpq's own reason
    assert CANARY not in message
    assert "\n" not in message
    container.shutdown_resources()


def test_without_connect_on_start_init_resources_connects_nowhere() -> None:
    container = Container(settings=_unreachable())
    container.init_resources()  # returns at once: the first unit of work will fail
    with pytest.raises(StorageUnavailable) as info:
        container.catalog().get_product(1)
    assert CANARY not in str(info.value)
    container.shutdown_resources()


def test_connect_on_start_holds_a_connection_when_init_resources_returns(
    clean_database: str,
) -> None:
    container = Container(
        settings=Settings(DATABASE_URL=clean_database, pool_min_size=0, connect_on_start=True)
    )
    for _ in range(2):  # a restart waits again, on its new pool
        container.init_resources()
        pool = container.pool()
        assert pool is not None
        assert pool.get_stats().get("pool_available", 0) >= 1
        container.shutdown_resources()
