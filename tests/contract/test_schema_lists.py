"""The declared tables, sequences and foreign keys (adapters.schema) are the migrated schema's.

The fake's tables, the grants and the harness derive from that declaration, and the fake deletes
by its ON DELETE actions, so a table or a cascade a migration adds fails here until declared."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import psycopg
import pytest

from adapters.memory.cascade import REFUSALS, delete
from adapters.memory.database import Tables
from adapters.schema import (
    DISTRIBUTION,
    FOREIGN_KEYS,
    SEQUENCES,
    TABLES,
    ForeignKey,
    children_first,
)
from domain.errors import DomainError
from shopdb.migrations import upgrade
from shopdb.roles import grant_statements
from shopdb.testdb import TABLES as TRUNCATED
from shopdb.testdb import scratch_database

SCHEMA_TABLES = """
    SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'S') AND c.relname <> 'alembic_version'
"""
# Foreign keys with the action their ON DELETE names, by the column naming the parent: the last
# of the key (one between a user's tables is (user_id, column) -> (user_id, id)).
SCHEMA_FOREIGN_KEYS = """
    SELECT k.conname, t.relname, a.attname, r.relname, k.confdeltype
    FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid
    JOIN pg_class r ON r.oid = k.confrelid JOIN pg_namespace n ON n.oid = t.relnamespace
    JOIN pg_attribute a ON a.attrelid = k.conrelid
        AND a.attnum = k.conkey[array_upper(k.conkey, 1)]
    WHERE n.nspname = 'public' AND k.contype = 'f'
"""
# Every foreign key between two tables of a user's rows leads with user_id on both sides.
USER_KEYS = """
    SELECT k.conname FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid
    JOIN pg_class r ON r.oid = k.confrelid
    JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
    JOIN pg_attribute b ON b.attrelid = k.confrelid AND b.attnum = k.confkey[1]
    WHERE k.contype = 'f' AND r.relname IN ('carts', 'orders')
        AND a.attname = 'user_id' AND b.attname = 'user_id'
"""
ON_DELETE = {"c": "cascade", "r": "restrict", "a": "no action", "n": "set null", "d": "set default"}


Key = tuple[str, str, str, str, str]  # a ForeignKey's fields


def schema_lists(url: str) -> tuple[set[str], set[str], set[Key]]:
    """The migrated schema's tables, sequences and foreign keys."""
    with psycopg.connect(url) as conn:
        relations = conn.execute(SCHEMA_TABLES).fetchall()
        keys = {
            (name, table, column, references, ON_DELETE[action])
            for name, table, column, references, action in conn.execute(SCHEMA_FOREIGN_KEYS)
        }
    tables = {name for name, kind in relations if kind != "S"}
    sequences = {name for name, kind in relations if kind == "S"}
    return tables, sequences, keys


def declared() -> tuple[set[str], set[str], set[Key]]:
    keys = {dataclasses.astuple(key) for key in FOREIGN_KEYS}
    return set(TABLES), {f"{table}_id_seq" for table in SEQUENCES}, keys


def test_declared_tables_sequences_and_foreign_keys_are_the_schemas(database_url: str) -> None:
    assert schema_lists(database_url) == declared()


def test_the_keys_between_a_users_tables_carry_the_user_id(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        carrying = {str(row[0]) for row in conn.execute(USER_KEYS)}
    assert (
        carrying
        == {key.name for key in FOREIGN_KEYS if key.references in {"carts", "orders"}}
        == {"cart_items_cart_id_fkey", "order_lines_order_id_fkey"}
    )


def test_a_new_table_or_a_changed_on_delete_is_noticed(admin_url: str) -> None:
    with scratch_database(admin_url, prefix="shopdb_lists") as url:
        upgrade(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE wishes (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY)")
            # The cascade from products to cart lines, gone: deleting a product in a cart fails.
            conn.execute("ALTER TABLE cart_items DROP CONSTRAINT cart_items_product_id_fkey")
            conn.execute(
                "ALTER TABLE cart_items ADD CONSTRAINT cart_items_product_id_fkey"
                " FOREIGN KEY (product_id) REFERENCES products (id)"
            )
        tables, sequences, keys = schema_lists(url)
    expected_tables, expected_sequences, expected_keys = declared()
    assert tables - expected_tables == {"wishes"}
    assert sequences - expected_sequences == {"wishes_id_seq"}
    assert keys ^ expected_keys == {
        ("cart_items_product_id_fkey", "cart_items", "product_id", "products", action)
        for action in ("cascade", "no action")
    }


def test_the_fake_the_grants_and_the_harness_derive_their_tables() -> None:
    assert set(Tables.attributes()) <= set(TABLES)
    assert set(Tables().by_name) == set(TABLES) - set(Tables.attributes())
    for table in TABLES:  # each reachable by name, and copied with a writer's copy
        tables = Tables()
        tables.rows(table)[1] = "row"
        copy = tables.copy()
        copy.rows(table)[2] = "other"
        assert tables.rows(table) == {1: "row"}
    archives = {f.metadata.get("archive_of") for f in dataclasses.fields(Tables)} - {None}
    assert archives <= set(TABLES)
    granted = {str(part) for part in grant_statements("app", "shop")}
    assert all(table in "".join(granted) for table in TABLES)
    assert children_first() == TRUNCATED
    # Children first: TRUNCATE ... CASCADE needs no order, but deleting row by row does.
    position = {table: n for n, table in enumerate(TRUNCATED)}
    assert all(position[key.table] < position[key.references] for key in FOREIGN_KEYS)


@pytest.mark.parametrize("key", FOREIGN_KEYS, ids=lambda key: key.name)
def test_every_foreign_key_acts_in_the_fake_as_declared(key: ForeignKey) -> None:
    tables = Tables()
    tables.rows(key.references)[1] = SimpleNamespace(id=1)
    tables.rows(key.table)[7] = SimpleNamespace(id=7, **{key.column: 1})
    if key.on_delete == "restrict":
        with pytest.raises(DomainError, match=key.name):
            delete(tables, key.references, 1)
    else:
        delete(tables, key.references, 1)
        assert 7 not in tables.rows(key.table)
    assert set(REFUSALS) <= {key.name for key in FOREIGN_KEYS if key.on_delete == "restrict"}


def test_every_table_is_distributed_and_every_key_stays_on_one_node() -> None:
    """`shopdb distribute` works from DISTRIBUTION: every table, each after the table it is
    co-located with, and every foreign key either into a reference table or between tables
    of one co-location group (Citus refuses any other)."""
    order = [plan.table for plan in DISTRIBUTION]
    assert sorted(order) == sorted(TABLES)
    plans = {plan.table: plan for plan in DISTRIBUTION}

    def group(table: str) -> str:
        plan = plans[table]
        return table if plan.colocate_with is None else group(plan.colocate_with)

    for plan in DISTRIBUTION:
        if plan.colocate_with is not None:
            assert order.index(plan.colocate_with) < order.index(plan.table), plan.table
    for key in FOREIGN_KEYS:
        referenced = plans[key.references]
        assert referenced.column is None or group(key.table) == group(key.references), key.name
