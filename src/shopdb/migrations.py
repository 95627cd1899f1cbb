"""Run the alembic migrations with the application's settings."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def sqlalchemy_url(url: str) -> str:
    """The same URL for SQLAlchemy, forced onto the psycopg 3 driver."""
    for scheme in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


def alembic_config(url: str, *, lock_timeout_ms: int = 5000) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.attributes["url"] = url
    config.attributes["lock_timeout_ms"] = lock_timeout_ms
    return config


def target_url(config: Config) -> str:
    url = config.attributes.get("url")
    if url is None:
        from shopdb.settings import load_settings

        settings = load_settings()
        if settings.database_url is None:
            from shopdb.embedded import embedded_url

            data_dir = settings.embedded_data_dir
            return embedded_url(Path(data_dir) if data_dir else None)
        return settings.database_url.get_secret_value()
    return str(url)


def upgrade(url: str, revision: str = "head", **options: Any) -> None:
    command.upgrade(alembic_config(url, **options), revision)


def downgrade(url: str, revision: str, **options: Any) -> None:
    command.downgrade(alembic_config(url, **options), revision)


def upgrade_sql(revisions: str = "base:head") -> str:
    """The SQL that `upgrade` would run, without a database (alembic's offline mode)."""
    buffer = io.StringIO()
    config = alembic_config("")
    config.output_buffer = buffer
    command.upgrade(config, revisions, sql=True)
    return buffer.getvalue()


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None
    return head


def current_revision(url: str) -> str | None:
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
