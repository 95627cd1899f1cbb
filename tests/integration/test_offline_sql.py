"""`shopdb migrate --sql` writes a script a DBA can run: run from base to head on an empty
database, it builds the schema the online migration builds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from shopdb.migrations import head_revision, upgrade, upgrade_sql
from shopdb.testdb import scratch_database

# Everything a migration makes, each as the server writes it back (the definitions, not names).
SCHEMA = {
    "columns": """
        SELECT table_name, column_name, data_type, is_nullable, column_default,
               is_identity, identity_generation, character_maximum_length,
               numeric_precision, numeric_scale
        FROM information_schema.columns WHERE table_schema = 'public'""",
    "constraints": """
        SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
        FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
        WHERE n.nspname = 'public'""",
    "indexes": """
        SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'""",
    "triggers": """
        SELECT t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t
        JOIN pg_class r ON r.oid = t.tgrelid JOIN pg_namespace n ON n.oid = r.relnamespace
        WHERE n.nspname = 'public' AND NOT t.tgisinternal""",
    "functions": """
        SELECT p.proname, pg_get_functiondef(p.oid) FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND p.prokind = 'f'
          AND NOT EXISTS (SELECT 1 FROM pg_depend d
                          WHERE d.objid = p.oid AND d.deptype = 'e')""",
    "extensions": "SELECT extname FROM pg_extension",
    "revision": "SELECT version_num FROM alembic_version",
}


def _schema(url: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return {
            part: sorted(conn.execute(query).fetchall(), key=repr) for part, query in SCHEMA.items()
        }


@pytest.fixture
def two_empty_databases(admin_url: str) -> Iterator[tuple[str, str]]:
    with (
        scratch_database(admin_url, prefix="shopdb_offline") as offline,
        scratch_database(admin_url, prefix="shopdb_online") as online,
    ):
        yield offline, online


def test_offline_sql_runs_and_builds_the_online_schema(
    two_empty_databases: tuple[str, str],
) -> None:
    offline, online = two_empty_databases
    script = upgrade_sql("base:head")
    # One simple-query message, as psql -f sends it statement by statement: no parameters,
    # so every % reaches the server as written.
    with psycopg.connect(offline, autocommit=True) as conn:
        conn.execute(script.encode())
    upgrade(online)

    built, migrated = _schema(offline), _schema(online)
    assert built["revision"] == [(head_revision(),)]
    assert built["functions"], "the script made no function"
    for part in SCHEMA:
        assert built[part] == migrated[part], part


def test_offline_sql_keeps_the_cart_cap_message_as_written(
    two_empty_databases: tuple[str, str],
) -> None:
    offline, _ = two_empty_databases
    with psycopg.connect(offline, autocommit=True) as conn:
        conn.execute(upgrade_sql("base:head").encode())
        body = conn.execute(
            "SELECT prosrc FROM pg_proc WHERE proname = 'cart_items_lines_max'"
        ).fetchone()
    assert body is not None
    assert "'cart_items_lines_max_check: cart % already holds 1000 lines'" in body[0]
    assert "'SELECT 1 FROM %I.%I WHERE user_id = $1 AND id = $2 FOR NO KEY UPDATE'" in body[0]
