"""The async bench's pieces that need no database: asyncpg's form of shopdb's statements, and
the async tables a full run writes into the page."""

from __future__ import annotations

from pathlib import Path

from bench import page
from bench.__main__ import Run, document
from bench.async_contestants import ADD, ORDER, Dollars
from bench.async_report import Results
from bench.loop_lag import Lag

PAGE = Path(__file__).parents[2] / "docs" / "performance.md"


def test_named_placeholders_become_one_number_each_however_often_they_appear() -> None:
    statement = Dollars("a = %(a)s AND b = %(b)s OR a > %(a)s AND t LIKE 'x%%'")
    assert statement.text == "a = $1 AND b = $2 OR a > $1 AND t LIKE 'x%'"
    assert statement.args({"b": 2, "a": 1}) == [1, 2]


def test_positional_placeholders_are_numbered_in_order() -> None:
    statement = Dollars("SELECT %s, %s")
    assert statement.text == "SELECT $1, $2"
    assert statement.args((7, 8)) == [7, 8]


def test_the_checkout_and_the_add_keep_no_psycopg_placeholder() -> None:
    for statement in (ADD, ORDER):
        assert "%(" not in statement.text
        assert "%s" not in statement.text
        assert len(statement.keys) == len(set(statement.keys))
    assert sorted(map(str, ORDER.keys)) == ["cart_id", "key", "user_id"]


def test_a_full_run_writes_the_async_tables_and_targets(tmp_path: Path) -> None:
    copy = tmp_path / "performance.md"
    copy.write_text(PAGE.read_text())
    run = Run.__new__(Run)
    run.rows = [("get product by id", "psycopg + pool", [10.0])]
    asynchronous = Results(
        rows=[
            ("get product by id, 16 tasks", "shopdb async", [12.0]),
            ("get product by id, 16 tasks", "psycopg async pool", [10.0]),
            ("get product by id, 16 tasks", "SQLAlchemy async ORM", [2.0]),
            ("get product by id, 16 tasks", "asyncpg pool", [18.0]),
        ],
        levels=[16],
        lags=[Lag("async services (the app's routes)", "64 checkouts", [0.001, 0.003])],
    )
    run.targets = asynchronous.targets()
    document(copy, run, page.started(), "PostgreSQL 18", ["--ops", "10"], asynchronous)
    written = copy.read_text()
    assert "| get product by id, 16 tasks | 12 (1.20x) | 10 | 2 (0.20x) | 18 (1.80x) |" in written
    assert "| get product by id, 16 tasks | 1.20x | 6.00x | 1.50x |" in written
    assert "| async services (the app's routes) | 64 checkouts | 1.0 | 3.0 | 3.0 | 2 |" in written
    assert any("async vs psycopg pool, 16 tasks" in line for line in run.targets)
    assert all(line in written for line in run.targets)
