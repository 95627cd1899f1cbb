"""The schema's integrity rules, exercised in plain SQL: each violation names its constraint."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg import errors

from adapters.postgres import users

Conn = psycopg.Connection[tuple[object, ...]]


@pytest.fixture
def conn(clean_database: str) -> Iterator[Conn]:
    with psycopg.connect(clean_database, autocommit=True) as connection:
        yield connection


def _user(conn: Conn, username: str = "alice", email: str = "alice@example.com") -> int:
    row = conn.execute(
        "INSERT INTO users (username, email, password_hash) VALUES (%s, %s, 'h') RETURNING id",
        (username, email),
    ).fetchone()
    assert row is not None
    return int(str(row[0]))


def _register(conn: Conn, username: str, email: str) -> int:
    """A user and its keys, by the adapter's statement: the unique rules live in the lookup
    tables it writes too (0011)."""
    row = conn.execute(users.INSERT, (username, email, "h")).fetchone()
    assert row is not None
    return int(str(row[0]))


def _archive(conn: Conn, user_id: int) -> None:
    """Archiving, by the adapter's two statements: the row marked, its keys freed."""
    with conn.transaction():
        keys = conn.execute(users.ARCHIVE, (user_id,)).fetchone()
        assert keys is not None
        conn.execute(users.DELETE_CARTS, {"username": keys[0], "email": keys[1], "id": user_id})


def _product(conn: Conn, price: str = "1.00", inventory: int = 1) -> int:
    row = conn.execute(
        "INSERT INTO products (name, price, inventory_count) VALUES ('Lamp', %s, %s) RETURNING id",
        (price, inventory),
    ).fetchone()
    assert row is not None
    return int(str(row[0]))


def _cart(conn: Conn, user_id: int) -> int:
    row = conn.execute(
        "INSERT INTO carts (user_id) VALUES (%s) RETURNING id", (user_id,)
    ).fetchone()
    assert row is not None
    return int(str(row[0]))


def _violation(conn: Conn, query: str, params: tuple[object, ...]) -> tuple[str | None, str | None]:
    with pytest.raises(psycopg.IntegrityError) as info:
        conn.execute(query, params)
    return info.value.sqlstate, info.value.diag.constraint_name


@pytest.mark.parametrize(
    ("price", "constraint"),
    [
        ("-0.01", "products_price_non_negative_check"),
        ("NaN", "products_price_not_nan_check"),
    ],
)
def test_bad_prices_are_rejected_by_name(conn: Conn, price: str, constraint: str) -> None:
    query = "INSERT INTO products (name, price) VALUES ('Lamp', %s::numeric)"
    assert _violation(conn, query, (price,)) == ("23514", constraint)


@pytest.mark.parametrize("name", ["v", "vvv", "t", "n", "\\v", " x "])
def test_names_of_ordinary_letters_are_not_blank(conn: Conn, name: str) -> None:
    row = conn.execute(
        "INSERT INTO products (name, price) VALUES (%s, 1) RETURNING name", (name,)
    ).fetchone()
    assert row == (name,)


def test_negative_inventory_is_rejected(conn: Conn) -> None:
    query = "INSERT INTO products (name, price, inventory_count) VALUES ('Lamp', 1, %s)"
    assert _violation(conn, query, (-1,)) == (
        "23514",
        "products_inventory_count_non_negative_check",
    )


@pytest.mark.parametrize("name", ["", "   ", "\t\n ", "\x0b\x0c\r"])
def test_blank_product_names_are_rejected(conn: Conn, name: str) -> None:
    query = "INSERT INTO products (name, price) VALUES (%s, 1)"
    assert _violation(conn, query, (name,)) == ("23514", "products_name_not_blank_check")


def test_descriptions_are_limited_to_ten_thousand_characters(conn: Conn) -> None:
    # Characters, not bytes: 10,000 four-byte characters fit, one more does not.
    query = "INSERT INTO products (name, price, description) VALUES ('Lamp', 1, %s)"
    conn.execute(query, ("\U0001f600" * 10_000,))
    assert _violation(conn, query, ("x" * 10_001,)) == (
        "23514",
        "products_description_length_check",
    )


def test_quantity_zero_is_rejected(conn: Conn) -> None:
    alice = _user(conn)
    cart = _cart(conn, alice)
    product = _product(conn)
    query = "INSERT INTO cart_items (user_id, cart_id, product_id, quantity) VALUES (%s, %s, %s, 0)"
    assert _violation(conn, query, (alice, cart, product)) == (
        "23514",
        "cart_items_quantity_positive_check",
    )


def test_usernames_are_unique_regardless_of_case(conn: Conn) -> None:
    _register(conn, "Alice", "one@example.com")
    assert _violation(conn, users.INSERT, ("alice", "two@example.com", "h")) == (
        "23505",
        "users_username_lower_key",
    )


def test_emails_are_unique_regardless_of_case(conn: Conn) -> None:
    _register(conn, "alice", "Alice@Example.com")
    assert _violation(conn, users.INSERT, ("bob", "alice@example.com", "h")) == (
        "23505",
        "users_email_lower_key",
    )


@pytest.mark.parametrize(
    ("username", "password_hash", "constraint"),
    [
        ("al", "h", "users_username_length_check"),
        ("alice", "", "users_password_hash_not_empty_check"),
    ],
)
def test_user_checks(conn: Conn, username: str, password_hash: str, constraint: str) -> None:
    query = "INSERT INTO users (username, email, password_hash) VALUES (%s, 'a@example.com', %s)"
    assert _violation(conn, query, (username, password_hash)) == ("23514", constraint)


def test_a_product_appears_once_per_cart(conn: Conn) -> None:
    alice = _user(conn)
    cart = _cart(conn, alice)
    product = _product(conn)
    query = "INSERT INTO cart_items (user_id, cart_id, product_id, quantity) VALUES (%s, %s, %s, 1)"
    conn.execute(query, (alice, cart, product))
    assert _violation(conn, query, (alice, cart, product)) == (
        "23505",
        "cart_items_cart_id_product_id_key",
    )


def test_cart_items_need_existing_cart_and_product(conn: Conn) -> None:
    alice = _user(conn)
    cart = _cart(conn, alice)
    query = "INSERT INTO cart_items (user_id, cart_id, product_id) VALUES (%s, %s, %s)"
    lamp = _product(conn)
    assert _violation(conn, query, (alice, 999, lamp)) == ("23503", "cart_items_cart_id_fkey")
    # Another user's cart is not this user's: the key is (user_id, cart_id).
    bob = _user(conn, "bob", "bob@example.com")
    assert _violation(conn, query, (bob, cart, lamp)) == ("23503", "cart_items_cart_id_fkey")
    # A line of a missing product is left out by cart_items_stock (0011) before the key is
    # checked; the key still refuses a line moved to one.
    assert conn.execute(query, (alice, cart, 999)).rowcount == 0
    conn.execute(query, (alice, cart, lamp))
    moved = "UPDATE cart_items SET product_id = %s WHERE cart_id = %s"
    assert _violation(conn, moved, (999, cart)) == ("23503", "cart_items_product_id_fkey")


def test_a_line_over_the_stock_or_of_an_archived_product_is_not_written(conn: Conn) -> None:
    """cart_items_stock (0011): whatever the statement, a line never holds more than the
    product's stock on hand, nor a product that is archived."""
    alice = _user(conn)
    cart = _cart(conn, alice)
    lamp, desk = _product(conn, inventory=3), _product(conn, inventory=3)
    add = "INSERT INTO cart_items (user_id, cart_id, product_id, quantity) VALUES (%s, %s, %s, %s)"
    assert conn.execute(add, (alice, cart, lamp, 4)).rowcount == 0
    assert conn.execute(add, (alice, cart, lamp, 3)).rowcount == 1
    grow = "UPDATE cart_items SET quantity = %s WHERE cart_id = %s AND product_id = %s"
    assert conn.execute(grow, (4, cart, lamp)).rowcount == 0
    assert conn.execute(grow, (2, cart, lamp)).rowcount == 1
    conn.execute("UPDATE products SET deleted_at = now() WHERE id = %s", (desk,))
    assert conn.execute(add, (alice, cart, desk, 1)).rowcount == 0
    assert conn.execute("SELECT product_id, quantity FROM cart_items").fetchall() == [(lamp, 2)]


def test_deleting_a_user_removes_its_carts_and_items(conn: Conn) -> None:
    alice, bob = _user(conn), _user(conn, "bob", "bob@example.com")
    product = _product(conn)
    for user in (alice, bob):
        conn.execute(
            "INSERT INTO cart_items (user_id, cart_id, product_id) VALUES (%s, %s, %s)",
            (user, _cart(conn, user), product),
        )
    conn.execute("DELETE FROM users WHERE id = %s", (alice,))
    assert conn.execute("SELECT user_id FROM carts").fetchall() == [(bob,)]
    assert conn.execute("SELECT count(*) FROM cart_items").fetchone() == (1,)


def test_deleting_a_product_removes_its_cart_items(conn: Conn) -> None:
    alice = _user(conn)
    cart = _cart(conn, alice)
    lamp, desk = _product(conn), _product(conn)
    for product in (lamp, desk):
        conn.execute(
            "INSERT INTO cart_items (user_id, cart_id, product_id) VALUES (%s, %s, %s)",
            (alice, cart, product),
        )
    conn.execute("DELETE FROM products WHERE id = %s", (lamp,))
    assert conn.execute("SELECT product_id FROM cart_items").fetchall() == [(desk,)]
    assert conn.execute("SELECT count(*) FROM carts").fetchone() == (1,)


def test_updated_at_moves_on_update(conn: Conn) -> None:
    alice = _user(conn)
    with conn.transaction():
        conn.execute(
            "UPDATE users SET created_at = now() - interval '1 day' WHERE id = %s", (alice,)
        )
    conn.execute("UPDATE users SET updated_at = now() - interval '2 days' WHERE id = %s", (alice,))
    row = conn.execute(
        "SELECT updated_at > created_at, updated_at > now() - interval '1 minute'"
        " FROM users WHERE id = %s",
        (alice,),
    ).fetchone()
    assert row == (True, True)


def test_products_updated_at_is_the_statements(conn: Conn) -> None:
    """No trigger on products (0011: on a cluster it would run once per copy, each on its own
    clock): every statement of the adapter sets updated_at, one written by hand must too."""
    product = _product(conn)
    conn.execute(
        "UPDATE products SET updated_at = now() - interval '2 days' WHERE id = %s", (product,)
    )
    conn.execute("UPDATE products SET name = 'Desk' WHERE id = %s", (product,))
    row = conn.execute(
        "SELECT updated_at < now() - interval '1 day' FROM products WHERE id = %s", (product,)
    ).fetchone()
    assert row == (True,)


def test_infinite_price_does_not_fit(conn: Conn) -> None:
    with pytest.raises(errors.NumericValueOutOfRange):
        conn.execute("INSERT INTO products (name, price) VALUES ('Lamp', 'Infinity'::numeric)")


def test_a_user_is_archived_without_a_password_hash_and_active_with_one(conn: Conn) -> None:
    alice = _user(conn)
    assert _violation(conn, "UPDATE users SET deleted_at = now() WHERE id = %s", (alice,)) == (
        "23514",
        "users_password_hash_archived_check",
    )
    assert _violation(conn, "UPDATE users SET password_hash = NULL WHERE id = %s", (alice,)) == (
        "23514",
        "users_password_hash_archived_check",
    )
    conn.execute(
        "UPDATE users SET deleted_at = now(), password_hash = NULL WHERE id = %s", (alice,)
    )


def test_usernames_and_emails_are_unique_among_live_users_only(conn: Conn) -> None:
    first = _register(conn, "alice", "alice@example.com")
    assert _violation(conn, users.INSERT, ("ALICE", "other@example.com", "h")) == (
        "23505",
        "users_username_lower_key",
    )
    _archive(conn, first)
    second = _register(conn, "Alice", "ALICE@example.com")  # the archived row blocks nothing
    _archive(conn, second)
    _register(conn, "alice", "alice@example.com")
    assert _violation(conn, users.INSERT, ("bob", "Alice@Example.com", "h")) == (
        "23505",
        "users_email_lower_key",
    )


def test_a_hard_delete_of_what_an_order_names_is_still_refused(conn: Conn) -> None:
    """Archiving is how the adapters delete; the foreign keys stay as a safety net, so even
    a DELETE by hand, archived row or not, cannot take history with it."""
    alice, lamp = _user(conn), _product(conn)
    order = conn.execute(
        "INSERT INTO orders (user_id, idempotency_key, total) VALUES (%s, 'k', 1) RETURNING id",
        (alice,),
    ).fetchone()
    assert order is not None
    conn.execute(
        "INSERT INTO order_lines (user_id, order_id, product_id, product_name, unit_price,"
        " quantity) VALUES (%s, %s, %s, 'Lamp', 1, 1)",
        (alice, order[0], lamp),
    )
    conn.execute("UPDATE products SET deleted_at = now() WHERE id = %s", (lamp,))
    conn.execute(
        "UPDATE users SET deleted_at = now(), password_hash = NULL WHERE id = %s", (alice,)
    )
    # ON DELETE RESTRICT: foreign_key_violation (23503) up to PostgreSQL 17,
    # restrict_violation (23001) from 18 on; the constraint is the same.
    refused = {"23503", "23001"}
    state, name = _violation(conn, "DELETE FROM products WHERE id = %s", (lamp,))
    assert (state in refused, name) == (True, "order_lines_product_id_fkey")
    state, name = _violation(conn, "DELETE FROM users WHERE id = %s", (alice,))
    assert (state in refused, name) == (True, "orders_user_id_fkey")
