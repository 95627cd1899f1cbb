"""The application role reads and writes rows and can change no schema (SQLSTATE 42501)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

from adapters.postgres import PostgresUnitOfWorkFactory, create_pool
from services import AccountService, CartService, CatalogService, OrderService
from shopdb.cli import app
from shopdb.migrations import upgrade
from shopdb.testdb import pool_config, scratch_database
from shopdb.testing import InsecureTestHasher


def _as(url: str, role: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.split("@")[-1]
    return urlunsplit(parts._replace(netloc=f"{role}@{host}"))


@pytest.fixture
def app_url(admin_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    role = f"shopdb_app_{uuid.uuid4().hex[:8]}"
    with scratch_database(admin_url, prefix="shopdb_roles") as url:
        upgrade(url)
        monkeypatch.setenv("DATABASE_URL", url)
        result = CliRunner().invoke(app, ["grant-app-role", role])
        assert result.exit_code == 0, result.output
        yield _as(url, role)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_the_app_role_runs_the_shop(app_url: str) -> None:
    pool = create_pool(pool_config(conninfo=app_url, min_size=1, max_size=2))
    uow = PostgresUnitOfWorkFactory(pool)
    hasher = InsecureTestHasher()
    user = AccountService(uow, hasher).register("alice", "alice@example.com", "password123")
    lamp = CatalogService(uow).create_product("Lamp", Decimal("9.99"), inventory_count=2)
    CartService(uow).add_to_cart(user.id, lamp.id, 2)
    assert CartService(uow).checkout(user.id).total == Decimal("19.98")
    assert OrderService(uow).order_history(user.id).items[0].total == Decimal("19.98")
    bob = AccountService(uow, hasher).register("bob", "bob@example.com", "password123")
    with uow() as work:  # archived, with or without orders: history is kept
        work.products.delete(lamp.id)
        work.users.delete(user.id)
        work.users.delete(bob.id)
        work.commit()
    assert OrderService(uow).order_history(user.id).items[0].total == Decimal("19.98")
    pool.close()


@pytest.mark.parametrize(
    "statement",
    [
        "DROP TABLE cart_items",
        "ALTER TABLE products ADD COLUMN colour TEXT",
        "CREATE TABLE intruder (id INT)",
        "TRUNCATE users CASCADE",
        "CREATE INDEX products_colour_idx ON products (name)",
        "DROP FUNCTION set_updated_at() CASCADE",
    ],
)
def test_the_app_role_cannot_change_the_schema(app_url: str, statement: str) -> None:
    with psycopg.connect(app_url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as info:
            conn.execute(statement)  # a fixed statement of this test
        assert info.value.sqlstate == "42501"
        assert conn.execute("SELECT count(*) FROM cart_items").fetchone() == (0,)
