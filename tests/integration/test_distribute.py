"""`shopdb distribute`: refused where Citus is not, and on a coordinator (`.ci/citus`, marker
`citus`) the tables distributed as adapters.schema.DISTRIBUTION declares, the schema's rules
under the same names, safe to run again."""

from __future__ import annotations

import psycopg
import pytest
from typer.testing import CliRunner

from adapters.schema import DISTRIBUTION, TABLES
from shopdb.cli import app
from shopdb.distribute import DistributeError, distribute
from shopdb.migrations import upgrade
from shopdb.testdb import citus_workers, scratch_database
from tests.contract.test_drift import SCHEMA_RULES

# How each table is in Citus's metadata: 'n' reference, 'h' by a column, in which group.
METADATA = """
    SELECT logicalrelid::regclass::text, partmethod,
        CASE WHEN partmethod = 'h' THEN column_to_column_name(logicalrelid, partkey) END,
        colocationid
    FROM pg_dist_partition
"""
KEYS = """
    SELECT conname, pg_get_constraintdef(k.oid) FROM pg_constraint k
    JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND k.contype = 'f'
"""


def _rules(url: str) -> tuple[set[str], set[tuple[str, str]]]:
    with psycopg.connect(url) as conn:
        rules = {str(row[0]) for row in conn.execute(SCHEMA_RULES)}
        keys = {(str(name), str(definition)) for name, definition in conn.execute(KEYS)}
    return rules, keys


def test_plain_postgresql_refuses_and_keeps_its_tables(
    admin_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No worker: a database without the extension, on a coordinator as on any server.
    with scratch_database(admin_url, prefix="shopdb_plain", workers=[]) as url:
        upgrade(url)
        before = _rules(url)
        with pytest.raises(DistributeError, match="not on a Citus coordinator"):
            distribute(url)
        monkeypatch.setenv("DATABASE_URL", url)
        result = CliRunner().invoke(app, ["distribute"])
        assert result.exit_code == 1
        assert "error: this database is not on a Citus coordinator" in result.stderr
        assert _rules(url) == before


@pytest.mark.citus
def test_a_coordinator_distributes_as_declared_keeping_every_rule(admin_url: str) -> None:
    with scratch_database(admin_url, prefix="shopdb_distribute") as url:
        upgrade(url)
        before = _rules(url)
        outcome = distribute(url)
        assert outcome.distributed == tuple(plan.table for plan in DISTRIBUTION)
        assert outcome.workers == 2
        assert set(outcome.distributed) == set(TABLES)
        with psycopg.connect(url) as conn:
            found = {row[0]: row[1:] for row in conn.execute(METADATA)}
            mode = conn.execute("SHOW citus.multi_shard_modify_mode").fetchone()
        for plan in DISTRIBUTION:
            method, column, _ = found[plan.table]
            assert (method, column) == (("n", None) if plan.column is None else ("h", plan.column))
            if plan.colocate_with is not None:
                assert found[plan.table][2] == found[plan.colocate_with][2], plan.table
        assert found["users"][2] != found["usernames"][2]
        # The keys into products were dropped and made again as they were.
        assert _rules(url) == before
        assert mode == ("sequential",)
        again = distribute(url)
        assert again.distributed == ()


@pytest.mark.citus
def test_products_made_a_reference_table_by_hand_first_is_named_as_the_cause(
    admin_url: str,
) -> None:
    # Citus then turns the tables that reference products into "local" tables, which it cannot
    # distribute: distribute refuses, says why in words, and changes nothing.
    with scratch_database(admin_url, prefix="shopdb_by_hand") as url:
        upgrade(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SELECT create_reference_table('products')")
            before = {row[0]: row[1:] for row in conn.execute(METADATA)}
        with pytest.raises(DistributeError) as refused:
            distribute(url)
        message = str(refused.value)
        assert message.startswith("table users is a Citus local table, not distributed by id")
        assert "made a reference table before them" in message
        assert "'n'" not in message
        with psycopg.connect(url) as conn:
            assert {row[0]: row[1:] for row in conn.execute(METADATA)} == before


@pytest.mark.citus
def test_the_copies_of_products_agree_on_updated_at(database_url: str) -> None:
    """One clock for every copy: the statement's now(), evaluated on the coordinator (a
    trigger would run on each copy with its own)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO products (name, price, inventory_count) VALUES ('Lamp', 1, 5) RETURNING id"
        ).fetchone()
        assert row is not None
        with conn.transaction():
            conn.execute("SELECT pg_sleep(0.05)")
            conn.execute(
                "UPDATE products SET inventory_count = 4, updated_at = now() WHERE id = %s", row
            )
        copies = conn.execute(
            "SELECT count(*), count(DISTINCT result) FROM run_command_on_placements("
            " 'products', 'SELECT updated_at FROM %%s WHERE id = ' || %s::bigint)",
            row,
        ).fetchone()
    assert copies == (3, 1)  # the coordinator's copy and each worker's, equal


@pytest.mark.citus
def test_the_cluster_bench_times_every_use_case_on_both(
    admin_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bench import citus

    # The coordinator serves as the one server too: a database there without the extension.
    workers = ",".join(citus_workers())
    arguments = [admin_url, admin_url, "--workers", workers, "--products", "20", "--users", "5"]
    monkeypatch.setattr("sys.argv", ["citus", *arguments, "--seconds", "0.05", "--repeats", "1"])
    citus.main()
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].split() == ["use", "case", "one", "server", "µs", "cluster", "µs", "ratio"]
    assert [line[:36].strip() for line in printed[1:]] == [
        "register (user and its two keys)",
        "log in: user by email",
        "get product by id",
        "reserve one unit (products)",
        "add to cart (the user's cart)",
        "load the user's cart",
        "load a cart by its id alone",
        "order history, 20 a page",
        "checkout, 3 lines",
    ]
