"""Alembic environment: plain SQL migrations over psycopg 3, URL from shopdb's settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text

from shopdb.migrations import sqlalchemy_url, target_url

config = context.config


def run_online() -> None:
    # A caller may hand in an engine, or a connection wrapped to look like one (tests do, to
    # keep the migration inside their own transaction); otherwise connect from the settings.
    connectable = config.attributes.get("connection") or create_engine(
        sqlalchemy_url(target_url(config)), poolclass=pool.NullPool
    )
    lock_timeout_ms = int(config.attributes.get("lock_timeout_ms", 5000))
    with connectable.connect() as connection:
        context.configure(connection=connection, transactional_ddl=True)
        with context.begin_transaction():
            # Fail fast rather than queue behind long transactions and block everyone else.
            connection.execute(
                text("SELECT set_config('lock_timeout', :value, true)"),
                {"value": f"{lock_timeout_ms}ms"},
            )
            context.run_migrations()


if context.is_offline_mode():
    context.configure(
        url=sqlalchemy_url(target_url(config)), literal_binds=True, transactional_ddl=True
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    run_online()
