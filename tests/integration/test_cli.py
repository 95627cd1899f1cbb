"""The `shopdb` command line against a real database: each command and each error path."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib.metadata import version

import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner, Result

from shopdb.cli import app
from shopdb.container import Container
from shopdb.health import topology
from shopdb.migrations import upgrade
from shopdb.settings import Settings
from shopdb.testdb import scratch_database

CANARY_PASSWORD = "canary-db-pass-93f1"


@pytest.fixture
def empty_url(admin_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with scratch_database(admin_url, prefix="shopdb_cli") as url:
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.delenv("SHOPDB_BACKEND", raising=False)
        yield url


def shopdb(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def _count(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def _one_line_error(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    return lines[0]


def test_migrate_up_down_and_up(empty_url: str) -> None:
    result = shopdb("migrate")
    assert result.exit_code == 0, result.output
    assert "schema at revision 0011" in result.stdout
    assert shopdb("migrate", "--down", "0002").stdout.strip() == "schema at revision 0002"
    assert shopdb("migrate", "--down", "base").stdout.strip() == "schema at revision base"
    assert shopdb("migrate", "--revision", "0001").stdout.strip() == "schema at revision 0001"
    assert shopdb("migrate").exit_code == 0


def test_seed_twice_adds_more(empty_url: str) -> None:
    assert shopdb("migrate").exit_code == 0
    for run in (1, 2):
        result = shopdb("seed", "--products", "300", "--users", "20", "--carts", "10")
        assert result.exit_code == 0, result.output
        assert "seeded 300 products, 20 users, 10 carts" in result.stdout
        assert _count(empty_url, "products") == 300 * run
        assert _count(empty_url, "users") == 20 * run
        assert _count(empty_url, "carts") == 10 * run
        assert _count(empty_url, "cart_items") == 50 * run


def test_seed_leaves_the_planner_counting_what_it_loaded(empty_url: str) -> None:
    """Autovacuum is off for these tables: only the seed itself can have counted its rows."""
    assert shopdb("migrate").exit_code == 0
    with psycopg.connect(empty_url, autocommit=True) as conn:
        for table in ("products", "users", "carts", "cart_items"):
            conn.execute(
                sql.SQL("ALTER TABLE {} SET (autovacuum_enabled = false)").format(
                    sql.Identifier(table)
                )
            )
    result = shopdb("seed", "--products", "300", "--users", "20", "--carts", "10")
    assert result.exit_code == 0, result.output
    with psycopg.connect(empty_url) as conn:
        counted: dict[str, float] = dict(
            conn.execute(
                "SELECT c.relname, c.reltuples FROM pg_class c JOIN pg_stat_user_tables s"
                " ON s.relid = c.oid WHERE s.last_vacuum IS NOT NULL AND s.last_analyze IS NOT NULL"
            ).fetchall()
        )
    print(f"\nthe planner's counts after the seed: {counted}")
    assert {t: counted.get(t) for t in ("products", "users", "carts", "cart_items")} == {
        "products": 300,
        "users": 20,
        "carts": 10,
        "cart_items": 50,
    }


def test_demo_runs_end_to_end(empty_url: str) -> None:
    for run in (1, 2):  # the second run makes its own names and keys
        result = shopdb("demo")
        assert result.exit_code == 0, result.output
        for expected in ("189.88", "refused, as it should be", "requested but only 0 available"):
            assert expected in result.stdout
        assert _count(empty_url, "users") == 2 * run
        assert _count(empty_url, "orders") == 2 * run
        with psycopg.connect(empty_url) as conn:
            newest = conn.execute("SELECT id FROM orders ORDER BY id DESC LIMIT 2").fetchall()
        for (order_id,) in newest:  # every order it makes, it says it made
            assert f"order #{order_id}" in result.stdout


def test_demo_on_the_memory_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPDB_BACKEND", "memory")
    result = shopdb("demo")
    assert result.exit_code == 0, result.output
    assert "in-memory backend" in result.stdout


def test_check_healthy_and_unmigrated(empty_url: str) -> None:
    error = _one_line_error(shopdb("check"))
    assert "run `shopdb migrate`" in error
    assert shopdb("migrate").exit_code == 0
    result = shopdb("check")
    assert result.exit_code == 0, result.output
    assert "healthy" in result.stdout


def test_seed_refuses_an_unmigrated_schema(empty_url: str) -> None:
    assert "run `shopdb migrate`" in _one_line_error(shopdb("seed", "--products", "1"))
    assert _count(empty_url, "pg_class WHERE relname = 'products'") == 0


@pytest.mark.parametrize("command", [["migrate"], ["check"], ["seed"], ["demo"]])
def test_unreachable_database_is_one_line_without_password(
    monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"postgresql://shop:{CANARY_PASSWORD}@127.0.0.1:1/shop")
    error = _one_line_error(shopdb(*command))
    assert "cannot connect to postgresql://shop:***@127.0.0.1:1/shop" in error
    assert CANARY_PASSWORD not in error


def test_rejected_login_is_one_line(admin_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    url = admin_url.replace("postgresql://postgres", f"postgresql://nobody:{CANARY_PASSWORD}", 1)
    monkeypatch.setenv("DATABASE_URL", url)
    error = _one_line_error(shopdb("check"))
    assert "nobody" in error
    assert CANARY_PASSWORD not in error


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("DATABASE_URL", "mysql://root@localhost/shop", "DATABASE_URL"),
        ("SHOPDB_POOL_MAX_SIZE", "many", "SHOPDB_POOL_MAX_SIZE"),
        ("SHOPDB_BACKEND", "oracle", "SHOPDB_BACKEND"),
        ("SHOPDB_LOG_LEVEL", "LOUD", "SHOPDB_LOG_LEVEL"),
    ],
)
def test_invalid_settings_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, named: str
) -> None:
    monkeypatch.setenv(variable, value)
    error = _one_line_error(shopdb("check"))
    assert error.startswith(f"error: invalid setting: {named}:")


def test_invalid_option_values_are_usage_errors() -> None:
    result = shopdb("seed", "--products", "-5")
    assert result.exit_code == 2
    assert "Invalid value for '--products'" in result.output
    assert "Traceback" not in result.output


def test_pool_sizes_that_contradict_each_other_are_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHOPDB_POOL_MIN_SIZE", "5")
    monkeypatch.setenv("SHOPDB_POOL_MAX_SIZE", "2")
    error = _one_line_error(shopdb("check"))
    assert error == (
        "error: invalid setting: SHOPDB_POOL_MIN_SIZE (5) must not exceed SHOPDB_POOL_MAX_SIZE (2)"
    )


@pytest.mark.parametrize("command", [["migrate"], ["check"], ["seed"]])
def test_a_password_with_an_unencoded_slash_is_one_line_without_it(
    monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"postgresql://shop:{CANARY_PASSWORD}/x@127.0.0.1:1/shop")
    error = _one_line_error(shopdb(*command))
    assert error.startswith("error: invalid setting: DATABASE_URL: cannot be parsed as a URL")
    assert CANARY_PASSWORD not in error


def test_version() -> None:
    result = shopdb("--version")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"shopdb {version('shopdb')}"


def test_migrate_sql_needs_no_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"postgresql://shop:{CANARY_PASSWORD}@127.0.0.1:1/shop")
    full = shopdb("migrate", "--sql")
    assert full.exit_code == 0, full.output
    assert full.stdout.startswith("BEGIN;")
    for expected in ("CREATE TABLE products", "UPDATE alembic_version SET version_num='0011'"):
        assert expected in full.stdout
    last = shopdb("migrate", "--sql", "--revision", "0002:0003")
    assert last.exit_code == 0, last.output
    assert "CREATE INDEX" in last.stdout
    assert "CREATE TABLE" not in last.stdout


def test_db_current_and_history(empty_url: str) -> None:
    assert (
        shopdb("db", "current").stdout.strip() == "base (head 0011, behind: run `shopdb migrate`)"
    )
    assert shopdb("migrate").exit_code == 0
    assert shopdb("db", "current").stdout.strip() == "0011 (head 0011, at head)"
    history = shopdb("db", "history").stdout.splitlines()
    assert [line.split(":")[0] for line in history] == [
        "0010 -> 0011 (head)",
        "0009 -> 0010",
        "0008 -> 0009",
        "0007 -> 0008",
        "0006 -> 0007",
        "0005 -> 0006",
        "0004 -> 0005",
        "0003 -> 0004",
        "0002 -> 0003",
        "0001 -> 0002",
        "base -> 0001",
    ]


def test_alembic_errors_are_one_line_of_our_own(empty_url: str) -> None:
    error = _one_line_error(shopdb("migrate", "--revision", "nosuch"))
    assert error.startswith("error: upgrade to nosuch failed on postgresql://")
    assert "nosuch" in error.rsplit(": ", 1)[1]
    with psycopg.connect(empty_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE products (id int)")  # in the way of the first migration
    error = _one_line_error(shopdb("migrate"))
    assert error.startswith("error: upgrade to head failed on postgresql://")
    assert 'relation "products" already exists' in error
    assert "sqlalche.me" not in error
    assert "Background on this error" not in error


def test_check_json(empty_url: str) -> None:
    unmigrated = shopdb("check", "--json")
    assert unmigrated.exit_code == 1
    report = json.loads(unmigrated.stdout)
    assert (report["healthy"], report["revision"], report["head"]) == (False, None, "0011")
    assert shopdb("migrate").exit_code == 0
    healthy = shopdb("check", "--json")
    assert healthy.exit_code == 0, healthy.output
    report = json.loads(healthy.stdout)
    assert (report["healthy"], report["revision"], report["migrated"]) == (True, "0011", True)
    assert report["database"] == empty_url
    assert report["pool"]["pool_min"] == 2
    assert report["pool"]["pool_size"] >= 1


def test_topology_without_replicas_is_the_primary_alone(empty_url: str) -> None:
    container = Container(settings=Settings(DATABASE_URL=empty_url, pool_min_size=1))
    container.init_resources()
    try:
        unmigrated = topology(container)
        assert unmigrated.replicas == ()
        assert unmigrated.primary.reachable
        assert not unmigrated.healthy
        assert (unmigrated.primary.revision, unmigrated.primary.head) == (None, "0011")
        upgrade(empty_url)
        found = topology(container)
    finally:
        container.shutdown_resources()
    assert found.healthy
    assert found.primary.migrated
    assert found.primary.server_version
    assert found.primary.database == empty_url
    assert found.as_dict()["replicas"] == []
    assert found.as_dict()["primary"]["migrated"] is True


def test_check_json_of_an_unreachable_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"postgresql://shop:{CANARY_PASSWORD}@127.0.0.1:1/shop")
    result = shopdb("check", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["healthy"] is False
    assert report["error"].startswith("cannot connect to postgresql://shop:***@127.0.0.1:1/shop")
    assert CANARY_PASSWORD not in result.output


def test_no_database_url_and_no_embedded_server_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SHOPDB_TEST_DATABASE_URL", raising=False)
    monkeypatch.setenv("SHOPDB_EMBEDDED", "false")
    error = _one_line_error(shopdb("check"))
    assert error == (
        "error: DATABASE_URL is not set: set it, or SHOPDB_EMBEDDED=true for the embedded server"
    )
