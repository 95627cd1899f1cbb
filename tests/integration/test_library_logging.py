# Generated from test_library_logging_async.py (tools/generate_sync.py): edit that instead.
"""psycopg_pool's warnings about failed connections stay in its logger tree: silent without
logging configured, delivered to an application that configured logging."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap

# The application's code, run in a fresh interpreter: one unit of work against a port where
# nothing listens, so the pool tries (and logs) several times before the error.
APPLICATION = """
{setup}
from domain.errors import StorageUnavailable
from shopdb.container import Container
from shopdb.settings import Settings

url = "postgresql://shop@127.0.0.1:{port}/shop"
container = Container(settings=Settings(DATABASE_URL=url, pool_timeout=1.5, pool_min_size=1))
try:
    container.catalog().get_product(1)
except StorageUnavailable as exc:
    print("StorageUnavailable:", exc)
container.shutdown_resources()
"""


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _run(setup: str) -> subprocess.CompletedProcess[str]:
    code = textwrap.dedent(APPLICATION.format(setup=setup, port=_closed_port()))
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )


def test_without_logging_configured_stderr_has_no_pool_warnings() -> None:
    result = _run(setup="")
    assert "StorageUnavailable: no database connection available" in result.stdout
    print(f"stderr: {len(result.stderr.splitlines())} lines")
    assert "error connecting" not in result.stderr
    assert result.stderr == ""


def test_an_application_that_configures_logging_still_receives_them() -> None:
    result = _run(setup="import logging; logging.basicConfig(level=logging.WARNING)")
    assert "StorageUnavailable: no database connection available" in result.stdout
    received = [line for line in result.stderr.splitlines() if "error connecting" in line]
    print(f"pool warnings received: {len(received)}")
    assert received
    assert all(line.startswith("WARNING:psycopg.pool:") for line in received)
