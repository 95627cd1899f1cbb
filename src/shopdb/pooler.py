"""Timeouts for a transaction pooler: the application role's defaults in its database."""

from __future__ import annotations

import psycopg
from psycopg import sql

from adapters.postgres.pool import session_timeouts
from shopdb.container import pool_config
from shopdb.settings import Settings, SettingsError


def set_role_timeouts(
    admin_url: str, app_url: str, settings: Settings, *, role: str | None = None
) -> tuple[str, str, dict[str, int]]:
    """`ALTER ROLE … IN DATABASE … SET` the session timeouts of `settings` for `role` (else
    `app_url`'s user) in `app_url`'s database, connecting to `admin_url`. Every new server
    session of that role there starts with them, whichever client opened it: the pooler's.
    Returns the role, the database and the values."""
    target = psycopg.conninfo.conninfo_to_dict(app_url)
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
        who = role or str(target.get("user") or conn.info.user)
        where = str(target.get("dbname") or conn.info.dbname)
        found = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (who,)).fetchone()
        if found is None:
            raise SettingsError(f"role {who} does not exist: create it first (grant-app-role)")
        values = session_timeouts(pool_config(settings, app_url))
        for name, value in values.items():
            # ALTER ROLE takes no placeholders: the value goes in as a quoted literal.
            conn.execute(
                sql.SQL("ALTER ROLE {} IN DATABASE {} SET {} = {}").format(
                    sql.Identifier(who),
                    sql.Identifier(where),
                    sql.Identifier(name),
                    sql.Literal(str(value)),
                )
            )
    return who, where, values
