"""The migrated schema as pg_catalog reports it: columns, constraints and indexes, by name."""

from __future__ import annotations

import psycopg
import pytest

from adapters.schema import DISTRIBUTION, LOOKUPS, SEQUENCES, TABLES

COLUMNS = {
    ("users", "id"): ("bigint", "NO", None),
    ("users", "username"): ("character varying(50)", "NO", None),
    ("users", "email"): ("character varying(254)", "NO", None),
    ("users", "password_hash"): ("character varying(255)", "YES", None),
    ("users", "created_at"): ("timestamp with time zone", "NO", "now()"),
    ("users", "updated_at"): ("timestamp with time zone", "NO", "now()"),
    ("users", "deleted_at"): ("timestamp with time zone", "YES", None),
    # The keys of live users' usernames and emails, lowered: the unique rules (0011).
    ("usernames", "username_lower"): ("text", "NO", None),
    ("usernames", "user_id"): ("bigint", "NO", None),
    ("emails", "email_lower"): ("text", "NO", None),
    ("emails", "user_id"): ("bigint", "NO", None),
    ("products", "id"): ("bigint", "NO", None),
    ("products", "name"): ("character varying(255)", "NO", None),
    ("products", "description"): ("text", "YES", None),
    ("products", "price"): ("numeric(10,2)", "NO", None),
    ("products", "inventory_count"): ("integer", "NO", "0"),
    ("products", "version"): ("integer", "NO", "1"),
    ("products", "created_at"): ("timestamp with time zone", "NO", "now()"),
    ("products", "updated_at"): ("timestamp with time zone", "NO", "now()"),
    ("products", "deleted_at"): ("timestamp with time zone", "YES", None),
    # The name as the search folds it (0010), written by the database with the name.
    ("products", "name_folded"): ("text", "YES", "search_fold((name)::text)"),
    ("carts", "id"): ("bigint", "NO", None),
    ("carts", "user_id"): ("bigint", "NO", None),
    ("carts", "created_at"): ("timestamp with time zone", "NO", "now()"),
    ("carts", "updated_at"): ("timestamp with time zone", "NO", "now()"),
    ("cart_items", "id"): ("bigint", "NO", None),
    ("cart_items", "cart_id"): ("bigint", "NO", None),
    ("cart_items", "product_id"): ("bigint", "NO", None),
    ("cart_items", "quantity"): ("integer", "NO", "1"),
    ("cart_items", "created_at"): ("timestamp with time zone", "NO", "now()"),
    ("cart_items", "updated_at"): ("timestamp with time zone", "NO", "now()"),
    ("cart_items", "user_id"): ("bigint", "NO", None),  # its cart's (0011)
    ("orders", "id"): ("bigint", "NO", None),
    ("orders", "user_id"): ("bigint", "NO", None),
    ("orders", "idempotency_key"): ("text", "NO", None),
    ("orders", "status"): ("text", "NO", "'placed'::text"),
    ("orders", "total"): ("numeric(30,2)", "NO", None),
    ("orders", "created_at"): ("timestamp with time zone", "NO", "now()"),
    ("orders", "updated_at"): ("timestamp with time zone", "NO", "now()"),
    ("order_lines", "id"): ("bigint", "NO", None),
    ("order_lines", "order_id"): ("bigint", "NO", None),
    ("order_lines", "product_id"): ("bigint", "NO", None),
    ("order_lines", "product_name"): ("character varying(255)", "NO", None),
    ("order_lines", "unit_price"): ("numeric(10,2)", "NO", None),
    ("order_lines", "quantity"): ("integer", "NO", None),
    ("order_lines", "user_id"): ("bigint", "NO", None),  # its order's (0011)
}

# index name -> (unique, definition fragment)
INDEXES = {
    "users_pkey": (True, "(id)"),
    # Live users only: archiving deletes the keys, so they can be registered again.
    "users_username_lower_key": (True, "usernames USING btree (username_lower)"),
    "users_email_lower_key": (True, "emails USING btree (email_lower)"),
    "products_pkey": (True, "(id)"),
    "products_name_id_idx": (
        False,
        '(name COLLATE "C", id) INCLUDE (name_folded) WHERE (deleted_at IS NULL)',
    ),
    "products_price_id_idx": (
        False,
        "(price, id) INCLUDE (name_folded) WHERE (deleted_at IS NULL)",
    ),
    "products_created_at_id_idx": (
        False,
        "(created_at DESC, id DESC) INCLUDE (name_folded) WHERE (deleted_at IS NULL)",
    ),
    "products_name_trgm_idx": (False, "USING gin (name_folded gin_trgm_ops)"),
    "products_name_hex_trgm_idx": (
        False,
        "USING gin (encode((replace(name_folded, '\\'::text,"
        " '\\\\'::text))::bytea, 'hex'::text) gin_trgm_ops) WHERE (deleted_at IS NULL)",
    ),
    # Every key between a user's tables ends with user_id, the distribution column (0011).
    "carts_pkey": (True, "(id, user_id)"),
    "carts_user_id_idx": (False, "(user_id)"),
    "cart_items_pkey": (True, "(id, user_id)"),
    "cart_items_cart_id_product_id_key": (True, "(cart_id, product_id, user_id)"),
    "cart_items_product_id_idx": (False, "(product_id)"),
    "orders_pkey": (True, "(id, user_id)"),
    "orders_user_id_idempotency_key_key": (True, "(user_id, idempotency_key)"),
    "orders_user_id_id_idx": (False, "(user_id, id)"),
    "order_lines_pkey": (True, "(id, user_id)"),
    "order_lines_order_id_product_id_key": (True, "(order_id, product_id, user_id)"),
    "order_lines_product_id_idx": (False, "(product_id)"),
}

# What a constraint's name ends with, by its kind (pg_constraint.contype; t: a constraint
# trigger): `<table>_<columns>_<suffix>`, so that errors and the fake find it by name.
SUFFIXES = {"p": "_pkey", "u": "_key", "f": "_fkey", "c": "_check", "t": "_check"}


@pytest.fixture(scope="module")
def catalog(database_url: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(database_url, autocommit=True)


def test_columns_have_the_designed_types_nullability_and_defaults(
    catalog: psycopg.Connection[tuple[object, ...]],
) -> None:
    rows = catalog.execute(
        """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
               CASE WHEN a.attnotnull THEN 'NO' ELSE 'YES' END,
               pg_get_expr(d.adbin, d.adrelid)
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
          AND c.relname <> 'alembic_version'
        """
    ).fetchall()
    found = {(r[0], r[1]): (r[2], r[3], r[4]) for r in rows}
    designed = {table for table, _ in COLUMNS}
    assert {key: value for key, value in found.items() if key[0] in designed} == COLUMNS
    # Every table, designed above or added since, keeps the conventions.
    for (table, column), (kind, nullable, default) in found.items():
        if column == "id" or str(column).endswith("_id"):
            assert (kind, nullable) == ("bigint", "NO"), (table, column)
        if column in ("created_at", "updated_at"):
            assert (kind, nullable, default) == ("timestamp with time zone", "NO", "now()")
        if column == "deleted_at":
            assert (kind, nullable) == ("timestamp with time zone", "YES"), table
    assert {table for table, _ in found} == set(TABLES)


def test_ids_are_identity_columns(catalog: psycopg.Connection[tuple[object, ...]]) -> None:
    rows = catalog.execute(
        "SELECT table_name, identity_generation FROM information_schema.columns"
        " WHERE table_schema = 'public' AND column_name = 'id'"
    ).fetchall()
    assert {r[0]: r[1] for r in rows} == dict.fromkeys(SEQUENCES, "ALWAYS")


def test_every_constraint_is_named_after_its_table_and_kind(
    catalog: psycopg.Connection[tuple[object, ...]],
) -> None:
    # Which constraints exist is held against the adapters' lists by name elsewhere
    # (test_drift.py, test_constraint_errors.py, test_schema_lists.py).
    rows = catalog.execute(
        """
        SELECT c.relname, k.conname, k.contype
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relname <> 'alembic_version' AND k.contype <> 'n'
        """
    ).fetchall()
    assert len(rows) >= 2 * len(TABLES)
    for table, name, kind in rows:
        if table in LOOKUPS:
            # A lookup table's key keeps the name of the unique index on users it replaced
            # (0011), which error translation and the fake know it by.
            assert (str(name), kind) == (f"users_{table[:-1]}_lower_key", "p")
            continue
        assert str(name).startswith(f"{table}_"), name
        assert str(name).endswith(SUFFIXES[str(kind)]), (name, kind)


def test_every_index_is_present_by_name(catalog: psycopg.Connection[tuple[object, ...]]) -> None:
    rows = catalog.execute(
        """
        SELECT i.relname, x.indisunique, pg_get_indexdef(x.indexrelid)
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE n.nspname = 'public' AND t.relname <> 'alembic_version'
        """
    ).fetchall()
    found = {str(r[0]): (bool(r[1]), str(r[2])) for r in rows}
    assert set(found) >= set(INDEXES)
    for name, (unique, definition) in found.items():  # added since: by the convention
        assert name.endswith(("_pkey", "_key") if unique else "_idx"), (name, definition)
    for name, (unique, fragment) in INDEXES.items():
        assert found[name][0] is unique, name
        assert found[name][1].endswith(fragment), (name, found[name][1])


def test_triggers_exist(catalog: psycopg.Connection[tuple[object, ...]]) -> None:
    rows = catalog.execute(
        """
        SELECT t.tgname, c.relname, p.proname FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
        WHERE NOT t.tgisinternal
        """
    ).fetchall()
    touched = catalog.execute(
        "SELECT table_name FROM information_schema.columns"
        " WHERE table_schema = 'public' AND column_name = 'updated_at'"
    ).fetchall()
    # Every table with updated_at keeps it by trigger, but a reference table, where each
    # statement sets it (on a cluster a trigger would run once per copy, 0011); and the cart
    # lines' stock and cap.
    copied = {plan.table for plan in DISTRIBUTION if plan.column is None}
    expected = {(f"{t}_set_updated_at", t, "set_updated_at") for (t,) in touched if t not in copied}
    expected.add(("cart_items_lines_max_check", "cart_items", "cart_items_lines_max"))
    expected.add(("cart_items_stock", "cart_items", "cart_items_stock"))
    assert set(rows) == expected
