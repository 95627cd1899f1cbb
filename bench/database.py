"""The benchmark's own database: created fresh, migrated, and filled fast with COPY."""

from __future__ import annotations

import random
from decimal import Decimal

import psycopg
from psycopg import sql

from shopdb.migrations import upgrade

BENCH_DATABASE = "shopdb_bench"
STOCK = 1_000_000_000  # never runs out during a run
# A syntactically valid Argon2id hash of nothing in particular: the benchmark never logs in.
PASSWORD_HASH = "$argon2id$v=19$m=65536,t=3,p=4$YmVuY2htYXJr$YmVuY2htYXJrLWhhc2gtbm90LXJlYWw"  # noqa: S105


def recreate(admin_url: str, database: str = BENCH_DATABASE) -> str:
    """Drop and create a benchmark database, migrated to head; returns its URL."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        name = sql.Identifier(database)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
    url = _with_database(admin_url, database)
    upgrade(url)
    return url


def mark_seeded(url: str, database: str, recipe: str) -> None:
    """Note on the database how it was seeded, for a later run's `reusable`."""
    with psycopg.connect(url, autocommit=True) as conn:
        comment = sql.SQL("COMMENT ON DATABASE {} IS {}")
        conn.execute(comment.format(sql.Identifier(database), sql.Literal(recipe)))


def reusable(admin_url: str, database: str, recipe: str) -> str | None:
    """The URL of `database` if an earlier run seeded it by `recipe` (and finished)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (database,),
        ).fetchone()
    return _with_database(admin_url, database) if row and row[0] == recipe else None


def user_count(url: str) -> int:
    """Every user row, archived or not."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM users").fetchone()
    return int(row[0]) if row else 0


def _with_database(url: str, database: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    return urlunsplit(urlsplit(url)._replace(path="/" + database))


LINES = "COPY cart_items (user_id, cart_id, product_id, quantity) FROM STDIN"


def add_products(url: str, count: int, rng: random.Random) -> None:
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY products (name, description, price, inventory_count) FROM STDIN"
        ) as copy:
            for n in range(count):
                name = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {n}"
                price = Decimal(rng.randrange(99, 99_999)) / 100
                copy.write_row((name, f"About {name}", price, STOCK))
        conn.execute("ANALYZE products")


def add_users_and_carts(url: str, users: int, items_per_cart: int, rng: random.Random) -> None:
    """`users` users, each with one cart of `items_per_cart` distinct products."""
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy("COPY users (username, email, password_hash) FROM STDIN") as copy:
            for n in range(users):
                copy.write_row((f"user{n}", f"user{n}@example.com", PASSWORD_HASH))
        # Their keys in the lookup tables, as registering writes them (migration 0011).
        cur.execute(
            "INSERT INTO usernames (username_lower, user_id) SELECT lower(username), id FROM users"
        )
        cur.execute("INSERT INTO emails (email_lower, user_id) SELECT lower(email), id FROM users")
        cur.execute("INSERT INTO carts (user_id) SELECT id FROM users ORDER BY id")
        product_count = cur.execute("SELECT max(id) FROM products").fetchone()
        top = int(product_count[0]) if product_count and product_count[0] else 0
        carts = cur.execute("SELECT id, user_id FROM carts ORDER BY id").fetchall()
        with cur.copy(LINES) as copy:
            for cart_id, user_id in carts:
                for product_id in rng.sample(range(1, top + 1), items_per_cart):
                    copy.write_row((user_id, cart_id, product_id, rng.randrange(1, 4)))
        conn.execute("ANALYZE")


def settle(url: str) -> None:
    """Vacuum, freeze and analyze what was loaded, as pgbench does before it measures: the
    first reads of freshly copied rows would otherwise write hint bits, and autovacuum would
    wake up in the middle of the run."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (FREEZE, ANALYZE)")


def analyze(url: str) -> None:
    """Fresh planner statistics, as autovacuum would gather them after a burst of writes (it
    may be off, as on a test server)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")


def refill_carts(url: str, cart_ids: list[int], items_per_cart: int, rng: random.Random) -> None:
    """Put `items_per_cart` lines back into each (emptied) cart: checkouts consume them."""
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        top_row = cur.execute("SELECT max(id) FROM products").fetchone()
        top = int(top_row[0]) if top_row and top_row[0] else 0
        cur.execute("DELETE FROM cart_items WHERE cart_id = ANY(%s)", (cart_ids,))
        owners: dict[int, int] = dict(
            cur.execute("SELECT id, user_id FROM carts WHERE id = ANY(%s)", (cart_ids,)).fetchall()
        )
        with cur.copy(LINES) as copy:
            for cart_id in cart_ids:
                for product_id in rng.sample(range(1, top + 1), items_per_cart):
                    copy.write_row((owners[cart_id], cart_id, product_id, 1))


WORDS = [
    "oak",
    "steel",
    "linen",
    "walnut",
    "copper",
    "velvet",
    "glass",
    "bamboo",
    "wool",
    "desk",
    "lamp",
    "chair",
    "rug",
    "shelf",
    "mug",
    "vase",
    "stool",
    "clock",
    "pillow",
    "frame",
]
