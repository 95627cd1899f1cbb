"""Can we reach the database, and is its schema the one this code expects?"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import psycopg

from shopdb.migrations import current_revision, head_revision
from shopdb.settings import redact_url


class DatabaseUnreachable(Exception):
    """One line saying why; never the password."""


def _password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def probe(url: str, timeout: int = 5) -> str:
    """Connect once and return the server version, or raise DatabaseUnreachable."""
    try:
        with psycopg.connect(url, connect_timeout=timeout, autocommit=True) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            return str(row[0]) if row else "?"
    except (psycopg.Error, ValueError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        secret = _password(url)
        if secret:
            reason = reason.replace(secret, "***")
        raise DatabaseUnreachable(f"cannot connect to {redact_url(url)}: {reason}") from None


@dataclass(frozen=True)
class Health:
    server_version: str
    revision: str | None
    head: str

    @property
    def migrated(self) -> bool:
        return self.revision == self.head


def health(url: str) -> Health:
    version = probe(url)
    return Health(server_version=version, revision=current_revision(url), head=head_revision())
