"""Alembic environment: plain SQL migrations over psycopg 3, URL from shopdb's settings."""

from __future__ import annotations

from alembic import context
from psycopg import sql
from sqlalchemy import create_engine, pool

from shopdb.migrations import migration_lock, sqlalchemy_url, target_url, wait_timeout_ms

config = context.config


def set_timeouts() -> None:
    """Fail fast rather than queue behind long transactions and block everyone else; in the
    SQL written out too, so whoever runs that script gets the same protection."""
    for name in ("lock_timeout", "statement_timeout"):
        value = f"{int(config.attributes.get(name + '_ms', DEFAULTS[name]))}ms"
        statement = sql.SQL("SET LOCAL {} = {}").format(sql.SQL(name), sql.Literal(value))
        context.execute(statement.as_string(None))


DEFAULTS = {"lock_timeout": 5_000, "statement_timeout": 600_000}


def run_online() -> None:
    # A caller may hand in an engine, or a connection wrapped to look like one (tests do, to
    # keep the migration inside their own transaction); otherwise connect from the settings.
    connectable = config.attributes.get("connection") or create_engine(
        sqlalchemy_url(target_url(config)), poolclass=pool.NullPool
    )
    # The lock comes first: two migrations that both read an empty version table would both
    # create it (and everything after it), and one would fail on a duplicate.
    with connectable.connect() as connection, migration_lock(connection, wait_timeout_ms(config)):
        context.configure(connection=connection, transactional_ddl=True)
        with context.begin_transaction():
            set_timeouts()
            context.run_migrations()


if context.is_offline_mode():
    # Writing SQL out needs the dialect only, never a server. The named paramstyle, as in
    # alembic's own template: psycopg's default (pyformat) doubles every % of the SQL text,
    # and PL/pgSQL then reads `RAISE '... %% ...'` as two placeholders (0009's trigger).
    context.configure(
        url=sqlalchemy_url(config.attributes.get("url") or "postgresql://"),
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        transactional_ddl=True,
    )
    with context.begin_transaction():
        set_timeouts()
        context.run_migrations()
else:
    run_online()
