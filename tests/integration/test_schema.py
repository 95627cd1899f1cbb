"""The migrated schema as pg_catalog reports it: columns, constraints and indexes, by name."""

from __future__ import annotations

import psycopg
import pytest

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

# (table, constraint name) -> contype: p primary key, c check, f foreign key, u unique
CONSTRAINTS = {
    ("cart_items", "cart_items_lines_max_check"): "t",  # a constraint trigger (0009)
    ("users", "users_pkey"): "p",
    ("users", "users_username_length_check"): "c",
    ("users", "users_password_hash_not_empty_check"): "c",
    ("users", "users_password_hash_archived_check"): "c",
    # The lookup tables' keys, named as the unique indexes on users they replaced (0011).
    ("usernames", "users_username_lower_key"): "p",
    ("emails", "users_email_lower_key"): "p",
    ("products", "products_pkey"): "p",
    ("products", "products_name_not_blank_check"): "c",
    ("products", "products_price_non_negative_check"): "c",
    ("products", "products_price_not_nan_check"): "c",
    ("products", "products_inventory_count_non_negative_check"): "c",
    ("products", "products_version_positive_check"): "c",
    ("products", "products_description_length_check"): "c",
    ("carts", "carts_pkey"): "p",
    ("carts", "carts_user_id_fkey"): "f",
    ("cart_items", "cart_items_pkey"): "p",
    ("cart_items", "cart_items_cart_id_fkey"): "f",
    ("cart_items", "cart_items_product_id_fkey"): "f",
    ("cart_items", "cart_items_quantity_positive_check"): "c",
    ("cart_items", "cart_items_cart_id_product_id_key"): "u",
    ("orders", "orders_pkey"): "p",
    ("orders", "orders_user_id_fkey"): "f",
    ("orders", "orders_idempotency_key_length_check"): "c",
    ("orders", "orders_status_check"): "c",
    ("orders", "orders_total_non_negative_check"): "c",
    ("orders", "orders_user_id_idempotency_key_key"): "u",
    ("order_lines", "order_lines_pkey"): "p",
    ("order_lines", "order_lines_order_id_fkey"): "f",
    ("order_lines", "order_lines_product_id_fkey"): "f",
    ("order_lines", "order_lines_unit_price_non_negative_check"): "c",
    ("order_lines", "order_lines_quantity_positive_check"): "c",
    ("order_lines", "order_lines_order_id_product_id_key"): "u",
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

FOREIGN_KEYS = {
    "carts_user_id_fkey": ("users", "c"),
    "cart_items_cart_id_fkey": ("carts", "c"),
    "cart_items_product_id_fkey": ("products", "c"),
    # History is never lost: deleting through the ports archives; a hard DELETE of a user
    # or product in an order is still refused (r: restrict).
    "orders_user_id_fkey": ("users", "r"),
    "order_lines_order_id_fkey": ("orders", "c"),
    "order_lines_product_id_fkey": ("products", "r"),
}


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
    assert found == COLUMNS


def test_ids_are_identity_columns(catalog: psycopg.Connection[tuple[object, ...]]) -> None:
    rows = catalog.execute(
        "SELECT table_name, identity_generation FROM information_schema.columns"
        " WHERE table_schema = 'public' AND column_name = 'id'"
    ).fetchall()
    assert {r[0]: r[1] for r in rows} == {
        t: "ALWAYS" for t in ("users", "products", "carts", "cart_items", "orders", "order_lines")
    }


def test_every_constraint_is_present_by_name(
    catalog: psycopg.Connection[tuple[object, ...]],
) -> None:
    rows = catalog.execute(
        """
        SELECT c.relname, k.conname, k.contype
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relname <> 'alembic_version' AND k.contype <> 'n'
        """
    ).fetchall()
    assert {(r[0], r[1]): r[2] for r in rows} == CONSTRAINTS


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
    assert set(found) == set(INDEXES)
    for name, (unique, fragment) in INDEXES.items():
        assert found[name][0] is unique, name
        assert found[name][1].endswith(fragment), (name, found[name][1])


def test_foreign_keys_cascade_or_restrict_on_delete(
    catalog: psycopg.Connection[tuple[object, ...]],
) -> None:
    rows = catalog.execute(
        """
        SELECT k.conname, r.relname, k.confdeltype
        FROM pg_constraint k JOIN pg_class r ON r.oid = k.confrelid
        WHERE k.contype = 'f'
        """
    ).fetchall()
    assert {r[0]: (r[1], r[2]) for r in rows} == FOREIGN_KEYS


def test_triggers_exist(catalog: psycopg.Connection[tuple[object, ...]]) -> None:
    rows = catalog.execute(
        """
        SELECT t.tgname, c.relname, p.proname FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
        WHERE NOT t.tgisinternal
        """
    ).fetchall()
    # products has none for updated_at: each statement sets it (on a cluster a trigger would
    # run once per copy of the reference table, 0011).
    assert sorted(rows) == [
        ("cart_items_lines_max_check", "cart_items", "cart_items_lines_max"),
        ("cart_items_set_updated_at", "cart_items", "set_updated_at"),
        ("cart_items_stock", "cart_items", "cart_items_stock"),
        ("carts_set_updated_at", "carts", "set_updated_at"),
        ("orders_set_updated_at", "orders", "set_updated_at"),
        ("users_set_updated_at", "users", "set_updated_at"),
    ]
