"""Directories of throwaway embedded servers: each names the process that owns it, so a server
left by a test process killed with SIGKILL is stopped and deleted by the next session."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

__all__ = ["PREFIX", "claim", "reap_abandoned", "throwaway_dir"]
OWNER = "owner"
# What every throwaway directory's name begins with. What the `embedded` extra brings is
# imported only where a server or an owner is handled: shopdb.testdb imports this module.
PREFIX = "shopdb-test-postgres-"


def claim(root: Path) -> None:
    """Mark `root` as this process's: pid and start time (a pid alone is reused)."""
    import psutil

    me = psutil.Process()
    (root / OWNER).write_text(f"{me.pid} {me.create_time()}")


def _owner_alive(root: Path) -> bool:
    import psutil

    try:
        pid, created = (root / OWNER).read_text().split()
        return bool(psutil.Process(int(pid)).create_time() == float(created))
    except psutil.NoSuchProcess:
        return False
    except (OSError, ValueError, psutil.Error):
        return True  # not claimed yet, or not ours to judge: leave it


def reap_abandoned(tmp: Path | None = None) -> list[Path]:
    """Stop the servers of throwaway directories whose owner died, and delete them."""
    from shopdb.embedded import EmbeddedServer, EmbeddedServerError

    reaped = []
    for root in (tmp or Path(tempfile.gettempdir())).glob(f"{PREFIX}*"):
        if not root.is_dir() or _owner_alive(root):
            continue
        with suppress(EmbeddedServerError):
            EmbeddedServer(root / "pgdata").stop()
        shutil.rmtree(root, ignore_errors=True)
        reaped.append(root)
    return reaped


@contextmanager
def throwaway_dir() -> Iterator[Path]:
    """A directory for a throwaway embedded server, removed afterwards. Not under pytest's
    basetemp: each pytest session of the same user resets it to 0700, which (as root) locks the
    server's account out of it, and prunes old ones, server and all."""
    root = Path(tempfile.mkdtemp(prefix=PREFIX))
    claim(root)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)
