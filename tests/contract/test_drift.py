"""The in-memory adapter knows every constraint and unique key of the migrated schema."""

from __future__ import annotations

import psycopg

from adapters.memory.constraints import ENFORCED
from shopdb.migrations import upgrade
from shopdb.testdb import scratch_database

SCHEMA_RULES = """
    SELECT k.conname FROM pg_constraint k
    JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relname <> 'alembic_version' AND k.contype <> 'n'
    UNION
    SELECT i.relname FROM pg_index x
    JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = 'public' AND t.relname <> 'alembic_version' AND x.indisunique
"""


def drift(url: str) -> tuple[set[str], set[str]]:
    """Rules only the schema has, and rules only the fake claims."""
    with psycopg.connect(url) as conn:
        in_schema = {str(row[0]) for row in conn.execute(SCHEMA_RULES)}
    return in_schema - set(ENFORCED), set(ENFORCED) - in_schema


def test_fake_enforces_exactly_the_schema_rules(database_url: str) -> None:
    assert drift(database_url) == (set(), set())


def test_a_new_constraint_in_the_schema_is_noticed(admin_url: str) -> None:
    with scratch_database(admin_url, prefix="shopdb_drift") as url:
        upgrade(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "ALTER TABLE products ADD CONSTRAINT products_name_short_check"
                " CHECK (char_length(name) < 100)"
            )
            conn.execute("CREATE UNIQUE INDEX products_name_key ON products (name)")
            conn.execute("ALTER TABLE carts DROP CONSTRAINT carts_user_id_fkey")
        assert drift(url) == (
            {"products_name_short_check", "products_name_key"},
            {"carts_user_id_fkey"},
        )
