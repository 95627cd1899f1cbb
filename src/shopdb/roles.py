"""A least-privilege role for the application: data in, data out, no schema changes.

Migrations run as the owner of the schema; the application connects as this role. It may
SELECT, INSERT, UPDATE and DELETE rows, and read the schema revision; DROP, ALTER, CREATE and
TRUNCATE fail with SQLSTATE 42501 (insufficient_privilege)."""

from __future__ import annotations

import psycopg
from psycopg import sql

from adapters.schema import TABLES


def grant_statements(role: str, database: str) -> list[sql.Composed]:
    """The statements, for a migration role to run on `database` (after `shopdb migrate`)."""
    who = sql.Identifier(role)
    tables = sql.SQL(", ").join(sql.Identifier(t) for t in TABLES)
    return [
        # Before PostgreSQL 15 every role could create tables in public.
        sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC").format(),
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), who),
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(who),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {}").format(tables, who),
        sql.SQL("GRANT SELECT ON alembic_version TO {}").format(who),
        # Tables of later migrations get the same grants.
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public"
            " GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}"
        ).format(who),
    ]


def create_app_role(admin_url: str, role: str, password: str | None = None) -> None:
    """Create `role` (if missing) as a login role and grant it DML on the migrated schema."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        if exists is None:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        if password is not None:
            conn.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(role), sql.Literal(password)
                )
            )
        database = conn.info.dbname
        with conn.transaction():
            for statement in grant_statements(role, database):
                conn.execute(statement)
