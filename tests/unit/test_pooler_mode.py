"""Pooler mode's connection parameters and settings, without a server."""

from __future__ import annotations

from adapters.postgres import PoolConfig
from adapters.postgres.pool import connect_kwargs
from shopdb.container import pool_config
from shopdb.settings import Pooler, load_settings


def test_direct_connections_carry_the_timeouts_as_startup_options() -> None:
    kwargs = connect_kwargs(PoolConfig(conninfo="", statement_timeout_ms=1234))
    assert "-c statement_timeout=1234" in kwargs["options"]
    assert "prepare_threshold" not in kwargs  # psycopg's default: prepare after 5 runs


def test_pooler_mode_sends_no_startup_options_and_never_prepares() -> None:
    kwargs = connect_kwargs(PoolConfig(conninfo="", transaction_pooler=True))
    assert "options" not in kwargs
    assert kwargs["prepare_threshold"] is None
    assert kwargs["autocommit"] is True


def test_shopdb_pooler_setting_reaches_the_pool_config() -> None:
    url = "postgresql://app@pooler:6432/shop"
    settings = load_settings(DATABASE_URL=url, pooler="transaction")
    assert settings.pooler is Pooler.TRANSACTION
    assert pool_config(settings, url).transaction_pooler is True
    direct = load_settings(DATABASE_URL=url, pooler="none")  # not the environment's
    assert pool_config(direct, url).transaction_pooler is False


def test_migrations_go_to_their_own_url_when_set() -> None:
    app = "postgresql://app@pooler:6432/shop"
    direct = "postgresql://owner@db:5432/shop"
    assert load_settings(DATABASE_URL=app, migration_database_url=None).migration_url(app) == app
    settings = load_settings(DATABASE_URL=app, migration_database_url=direct)
    assert settings.migration_url(app) == direct
