"""Migrations: pytest-alembic's built-in checks, plus a data-preserving down/up round trip."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from pytest_alembic import Config as AlembicTestConfig
from pytest_alembic.tests import (
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
from pytest_alembic.tests.experimental import test_downgrade_leaves_no_trace
from sqlalchemy import Engine, create_engine, pool

from shopdb.migrations import (
    MigrationError,
    current_revision,
    downgrade,
    head_revision,
    sqlalchemy_url,
    upgrade,
)
from shopdb.migrations import alembic_config as shopdb_alembic_config
from shopdb.testdb import scratch_database

ROOT = Path(__file__).parents[2]
__all__ = [
    "test_downgrade_leaves_no_trace",
    "test_single_head_revision",
    "test_up_down_consistency",
    "test_upgrade",
]


@pytest.fixture
def empty_database_url(admin_url: str) -> Iterator[str]:
    with scratch_database(admin_url, prefix="shopdb_migrations") as url:
        yield url


@pytest.fixture
def alembic_config(empty_database_url: str) -> AlembicTestConfig:
    return AlembicTestConfig(alembic_config=shopdb_alembic_config(empty_database_url))


@pytest.fixture
def alembic_engine(empty_database_url: str) -> Iterator[Engine]:
    engine = create_engine(sqlalchemy_url(empty_database_url), poolclass=pool.NullPool)
    yield engine
    engine.dispose()


def test_the_revisions_form_one_line_numbered_like_their_files() -> None:
    # Derived from the files: NNNN_what.py holds revision NNNN, whose parent is the file before
    # it, and the last file is the head, the revision `shopdb migrate` goes to.
    versions = sorted((ROOT / "alembic" / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))
    assert versions
    parent = None
    for path in versions:
        text = path.read_text()
        revision = path.name[:4]
        assert f'revision = "{revision}"' in text, path.name
        assert f"down_revision = {parent and repr(parent)}".replace("'", '"') in text, path.name
        parent = revision
    assert head_revision() == versions[-1].name[:4]


def test_upgrade_records_head_and_downgrade_to_base_removes_everything(
    empty_database_url: str,
) -> None:
    upgrade(empty_database_url)
    assert current_revision(empty_database_url) == head_revision()
    downgrade(empty_database_url, "base")
    with psycopg.connect(empty_database_url) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            " AND table_name <> 'alembic_version'"
        ).fetchall()
        functions = conn.execute(
            "SELECT proname FROM pg_proc WHERE proname = 'set_updated_at'"
        ).fetchall()
    assert tables == []
    assert functions == []


def _checksum(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return [
            *conn.execute("SELECT id, username, email, password_hash FROM users ORDER BY id"),
            *conn.execute(
                "SELECT id, name, description, price, inventory_count, version"
                " FROM products ORDER BY id"
            ),
            *conn.execute("SELECT id, user_id FROM carts ORDER BY id"),
            *conn.execute("SELECT id, cart_id, product_id, quantity FROM cart_items ORDER BY id"),
        ]


def test_rows_survive_a_reversible_downgrade_and_upgrade(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    with psycopg.connect(empty_database_url) as conn:
        user_id = conn.execute(
            "INSERT INTO users (username, email, password_hash) VALUES (%s, %s, %s) RETURNING id",
            ("alice", "alice@example.com", "hash"),
        ).fetchone()
        product_id = conn.execute(
            "INSERT INTO products (name, description, price, inventory_count)"
            " VALUES (%s, %s, %s, %s) RETURNING id",
            ("Lamp", "A lamp", "19.99", 7),
        ).fetchone()
        assert user_id is not None
        assert product_id is not None
        cart_id = conn.execute(
            "INSERT INTO carts (user_id) VALUES (%s) RETURNING id", user_id
        ).fetchone()
        assert cart_id is not None
        conn.execute(
            "INSERT INTO cart_items (user_id, cart_id, product_id, quantity)"
            " VALUES (%s, %s, %s, %s)",
            (user_id[0], cart_id[0], product_id[0], 3),
        )
    before = _checksum(empty_database_url)
    assert len(before) == 4

    downgrade(empty_database_url, "0002")
    assert current_revision(empty_database_url) == "0002"
    upgrade(empty_database_url)

    assert _checksum(empty_database_url) == before


def test_a_description_over_the_limit_stops_0004_and_leaves_nothing_behind(
    empty_database_url: str,
) -> None:
    upgrade(empty_database_url, "0003")
    with psycopg.connect(empty_database_url) as conn:
        conn.execute(
            "INSERT INTO products (name, description, price) VALUES ('Lamp', %s, 1)",
            ("x" * 10_001,),
        )
    with pytest.raises(MigrationError, match="products_description_length_check"):
        upgrade(empty_database_url)
    assert current_revision(empty_database_url) == "0003"
    with psycopg.connect(empty_database_url) as conn:
        left = conn.execute(
            "SELECT count(*) FROM pg_constraint WHERE conname = 'products_description_length_check'"
        ).fetchone()
        conn.execute("UPDATE products SET description = left(description, 10000)")
    assert left == (0,)
    upgrade(empty_database_url, "0004")  # once the row is fixed, the same revision goes through
    assert current_revision(empty_database_url) == "0004"


def test_0007_is_not_undone_while_rows_are_archived(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    with psycopg.connect(empty_database_url) as conn:
        conn.execute(
            "INSERT INTO users (username, email, password_hash, deleted_at)"
            " VALUES ('alice', 'a@example.com', NULL, now())"
        )
        conn.execute(
            "INSERT INTO users (username, email, password_hash)"
            " VALUES ('ALICE', 'A@example.com', 'h')"
        )
    before = current_revision(empty_database_url)
    with pytest.raises(MigrationError, match="archived users or products exist"):
        downgrade(empty_database_url, "0006")
    assert current_revision(empty_database_url) == before  # nothing of the downgrade stays
    with psycopg.connect(empty_database_url) as conn:
        conn.execute("DELETE FROM users WHERE deleted_at IS NOT NULL")
    downgrade(empty_database_url, "0006")  # with no archived row the same downgrade goes through
    assert current_revision(empty_database_url) == "0006"


def test_the_cap_of_0009_is_the_domains() -> None:
    from pathlib import Path

    from domain.values import CART_LINES_MAX

    versions = Path(__file__).parents[2] / "alembic/versions"
    text = (versions / "0009_cart_lines_max.py").read_text()
    assert f") > {CART_LINES_MAX} THEN" in text
    # 0011 writes the function again (by user id too): the same cap, in its message as well.
    text = (versions / "0011_distributable.py").read_text()
    assert f"IF lines > {CART_LINES_MAX} THEN" in text
    assert f"already holds {CART_LINES_MAX} lines" in text
