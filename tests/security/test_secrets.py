"""Canary secrets: a password hash and a database password never show in logs (at DEBUG,
psycopg's and the pool's included), reprs, dumps, error messages or command output."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit, urlunsplit

import pytest
from typer.testing import CliRunner

from adapters.postgres import PoolConfig, PostgresUnitOfWorkFactory, create_pool
from domain.errors import DomainError
from domain.model import NewUser
from shopdb.cli import app
from shopdb.settings import load_settings
from shopdb.testdb import pool_config

HASH_CANARY = "$argon2id$CANARY-HASH-41c9"
DB_CANARY = "CANARY-DB-PASS-77e2"


def _with_password(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.split("@")[-1]
    user = parts.username or "postgres"
    return urlunsplit(parts._replace(netloc=f"{user}:{DB_CANARY}@{netloc}"))


def test_canaries_stay_out_of_everything(
    database_url: str,
    clean_database: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("psycopg", "psycopg.pool", "shopdb", "adapters", "alembic", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    url = _with_password(database_url)  # the test servers trust local users: any password works
    pool = create_pool(pool_config(conninfo=url, min_size=1, max_size=2))
    pool.wait()
    uow = PostgresUnitOfWorkFactory(pool)
    shown: list[str] = [repr(PoolConfig(conninfo=url))]
    with uow(autocommit=True) as work:
        user = work.users.add(
            NewUser(username="alice", email="alice@example.com", password_hash=HASH_CANARY)
        )
        shown += [repr(user), str(user), user.model_dump_json(), str(user.model_dump())]
        taken = NewUser(username="alice", email="b@example.com", password_hash=HASH_CANARY)
        with pytest.raises(DomainError) as info:
            work.users.add(taken)
        shown += [str(info.value), repr(info.value)]
        with pytest.raises(DomainError) as info:
            work.users.change_email(99, "x@example.com")
        shown += [str(info.value), repr(info.value)]
    pool.close()

    monkeypatch.setenv("DATABASE_URL", url)
    shown.append(repr(load_settings()))
    result = CliRunner().invoke(app, ["check"])
    shown.append(result.output)
    monkeypatch.setenv("DATABASE_URL", url.replace(urlsplit(url).path, "/no_such_database"))
    result = CliRunner().invoke(app, ["check"])
    assert result.exit_code == 1
    shown.append(result.output)

    everything = "\n".join([caplog.text, *shown])
    assert "no_such_database" in everything  # the failure was reported...
    assert everything.count(HASH_CANARY) == 0  # ...without either secret
    assert everything.count(DB_CANARY) == 0
    print(
        f"\ncanaries: 0 occurrences in {len(caplog.records)} log records and {len(shown)} outputs"
    )
