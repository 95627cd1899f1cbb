"""The embedded server, on data directories these tests own: contrib, locale, the account it
runs as, and reuse after a killed postmaster, a killed starter, a reused pid or a held lock."""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg
import pytest

from shopdb import embedded, pgprocess
from shopdb.embedded import (
    EmbeddedServer,
    EmbeddedServerError,
    is_running,
    start_server,
    stop_server,
)
from shopdb.testdb import scratch_database
from shopdb.throwaway import PREFIX, claim, reap_abandoned, throwaway_dir


@pytest.fixture
def root() -> Iterator[Path]:
    with throwaway_dir() as root:
        yield root


@pytest.fixture
def server(root: Path) -> Iterator[EmbeddedServer]:
    handle = start_server(root / "pgdata", delete_on_exit=True)
    yield handle
    handle.cleanup()


def _postmaster_pid(server: EmbeddedServer) -> int:
    process = pgprocess.postmaster(server.pgdata)
    assert process is not None
    return int(process.pid)


def _server_processes(server: EmbeddedServer) -> list[psutil.Process]:
    return pgprocess.leftovers(server.pgdata)


def test_pg_trgm_is_available_on_the_test_server(admin_url: str) -> None:
    """On whichever server the suite runs: the embedded one, or DATABASE_URL's."""
    with scratch_database(admin_url) as url, psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION pg_trgm")
        row = conn.execute("SELECT similarity('lamp', 'lamps'), version()").fetchone()
    assert row is not None
    print(f"\npg_trgm on {row[1].split(' on ')[0]}: similarity(lamp, lamps) = {row[0]:.3f}")
    assert row[0] > 0.5


def test_contrib_and_locale_of_the_embedded_server(server: EmbeddedServer) -> None:
    environment = dict(os.environ)
    with psycopg.connect(server.url(), autocommit=True) as conn:
        for extension in ("pg_trgm", "unaccent", "citext", "btree_gist", "pg_stat_statements"):
            conn.execute(f"CREATE EXTENSION {extension}")
        row = conn.execute(
            "SELECT pg_encoding_to_char(encoding), datcollate, datctype,"
            " cardinality(show_trgm('ünï')), upper('ünï')"
            " FROM pg_database WHERE datname = current_database()"
        ).fetchone()
    # With a C ctype pg_trgm sees only the "n" of "ünï" (2 trigrams), and upper() leaves ü, ï.
    assert row == ("UTF8", "C.UTF-8", "C.UTF-8", 4, "ÜNÏ")
    assert dict(os.environ) == environment  # the locale is the server's, not ours


def test_runs_as_an_unprivileged_account(server: EmbeddedServer) -> None:
    owner = psutil.Process(_postmaster_pid(server)).username()
    expected = pgprocess.SERVER_ACCOUNT if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())[0]
    print(f"\nrunning as uid {os.geteuid()}: the server runs as {owner}")
    assert owner == expected


def test_a_killed_postmaster_is_replaced_by_one_and_data_survives(server: EmbeddedServer) -> None:
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (n int)")
        conn.execute("INSERT INTO kept VALUES (1)")
    busy = psycopg.connect(server.url(), autocommit=True)  # a backend left behind by the kill
    old = _postmaster_pid(server)
    os.kill(old, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while is_running(server.pgdata) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not is_running(server.pgdata)
    started = time.monotonic()
    again = start_server(server.pgdata, delete_on_exit=True)
    took = time.monotonic() - started
    new = _postmaster_pid(again)
    others = [p for p in _server_processes(again) if p.pid != new]
    print(f"\nrestart after kill -9 of the postmaster: {took:.2f} s, {len(others)} children")
    assert new != old
    assert all(p.ppid() == new for p in others)  # no orphan of the old one, no second postmaster
    with psycopg.connect(again.url(), autocommit=True) as conn:
        assert conn.execute("SELECT n FROM kept").fetchall() == [(1,)]
    busy.close()


def test_a_server_outlives_the_process_that_started_it_and_is_reused(root: Path) -> None:
    pgdata = root / "pgdata"
    code = (
        "import os, sys; from pathlib import Path; from shopdb.embedded import start_server;"
        "start_server(Path(sys.argv[1]), delete_on_exit=False); print(flush=True);"
        "os.kill(os.getpid(), 9)"
    )
    starter = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code, str(pgdata)], capture_output=True, text=True, timeout=120
    )
    assert starter.returncode == -signal.SIGKILL, starter.stderr
    handle = EmbeddedServer(pgdata, delete_on_exit=True)
    try:
        first = _postmaster_pid(handle)
        started = time.monotonic()
        again = start_server(pgdata, delete_on_exit=True)
        print(f"\nattach to a running server: {(time.monotonic() - started) * 1000:.0f} ms")
        assert _postmaster_pid(again) == first
    finally:
        handle.cleanup()


def test_a_stale_pid_file_naming_a_live_process_does_not_block_a_start(
    server: EmbeddedServer,
) -> None:
    assert server.stop()
    with subprocess.Popen(["sleep", "60"]) as stranger:  # noqa: S607 - coreutils
        try:
            # As after a crash in a container, where the pid comes round again quickly.
            (server.pgdata / "postmaster.pid").write_text(f"{stranger.pid}\n{server.pgdata}\n")
            server.start()
            assert _postmaster_pid(server) != stranger.pid
            assert stranger.poll() is None  # a stranger is never killed
        finally:
            stranger.kill()


def test_concurrent_starts_share_one_postmaster(root: Path) -> None:
    pgdata = root / "pgdata"
    handles: list[EmbeddedServer] = []
    barrier = threading.Barrier(3)

    def start() -> None:
        barrier.wait()
        handles.append(start_server(pgdata, delete_on_exit=True))

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    try:
        assert len(handles) == 3
        processes = _server_processes(handles[0])
        pids = {p.pid for p in processes}
        postmasters = [p for p in processes if p.ppid() not in pids]
        assert len(postmasters) == 1
        assert {_postmaster_pid(h) for h in handles} == {postmasters[0].pid}
    finally:
        handles[0].cleanup()


def test_a_start_that_cannot_proceed_ends_in_time_with_one_line(root: Path) -> None:
    pgdata = root / "pgdata"
    pgdata.mkdir()
    with pgprocess.locked(pgdata, timeout=1):
        started = time.monotonic()
        with pytest.raises(EmbeddedServerError) as caught:
            # A second open file description: flock excludes it like another process.
            start_server(pgdata, delete_on_exit=True, timeout=1)
        took = time.monotonic() - started
    print(f"\nstart under a held lock gave up after {took:.2f} s: {caught.value}")
    assert "\n" not in str(caught.value)
    assert str(pgdata) in str(caught.value)
    assert not stop_server(pgdata)


def test_a_frozen_server_fails_the_start_in_bounded_time(
    server: EmbeddedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedded, "CONNECT_TIMEOUT_S", 2)
    pid = _postmaster_pid(server)
    os.kill(pid, signal.SIGSTOP)
    started = time.monotonic()
    try:
        with pytest.raises(psycopg.OperationalError):
            embedded.embedded_url(server.pgdata)
    finally:
        os.kill(pid, signal.SIGCONT)
    took = time.monotonic() - started
    print(f"\nembedded_url on a SIGSTOPped postmaster gave up after {took:.1f} s")
    assert embedded.embedded_url(server.pgdata) == server.url(embedded.EMBEDDED_DATABASE)


def test_a_throwaway_server_of_a_killed_test_process_is_reaped(root: Path) -> None:
    code = (
        "import os; from shopdb.embedded import start_server; from shopdb.throwaway import"
        " throwaway_dir\nwith throwaway_dir() as root:\n"
        "    start_server(root / 'pgdata', delete_on_exit=True); os.kill(os.getpid(), 9)"
    )
    killed = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        env={**os.environ, "TMPDIR": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    (left,) = root.glob(f"{PREFIX}*")
    assert is_running(left / "pgdata")
    mine = root / f"{PREFIX}live"  # a live owner's: never touched
    mine.mkdir()
    claim(mine)
    unclaimed = root / f"{PREFIX}unclaimed"  # still being set up: never touched
    unclaimed.mkdir()
    assert reap_abandoned(root) == [left]
    assert not left.exists()
    assert mine.exists()
    assert unclaimed.exists()
    assert not pgprocess.leftovers(left / "pgdata")
