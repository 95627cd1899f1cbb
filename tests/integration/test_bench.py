"""`python -m bench` at a tiny scale: every workload runs through every contestant, and the
table and the targets come out complete. (What the numbers are is the benchmark's business.)"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from shopdb.embedded import stop_server
from shopdb.throwaway import throwaway_dir

ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(
    r"^(?P<workload>.{34}) (?P<name>.{26}) +(?P<median>[\d,]+) +(?P<low>[\d,]+) - "
    r"(?P<high>[\d,]+) +(?P<ratio>\d+\.\d\dx|-)\s*$"
)
ALL = ["shopdb", "psycopg + pool", "psycopg, 1 conn", "SQLAlchemy ORM"]
WORKLOADS = {
    "get product by id": ALL,
    "get user by email": ALL,
    "insert user + commit": ALL,
    "load cart with items and prices": ALL,
    "add to cart": ALL,
    "checkout + order, 5-line cart": ALL,
    "order history page (20)": ALL,
    "search page 1 (keyset)": ALL,
    "search page 1000 (keyset)": ALL,
    "search page 1000 (OFFSET)": ALL[1:],
    "bulk import 300 (rows/s)": ALL,
    "COPY to a bare TEMP table (rows/s)": ["psycopg, 1 conn"],
    "2 threads, mixed reads": ["shopdb", "psycopg + pool", "SQLAlchemy ORM"],
    "8 threads, mixed reads": ["shopdb", "psycopg + pool", "SQLAlchemy ORM"],
}
# The async workloads, at the tasks the smoke runs ask for (`--tasks 1 4`): a full run measures
# them after the sync ones, `python -m bench async` alone.
ASYNC = ["shopdb async", "psycopg async pool", "SQLAlchemy async ORM", "asyncpg pool"]
ASYNC_WORKLOADS = {
    f"{workload}, {tasks}": ASYNC
    for workload in ("get product by id", "load cart", "add to cart", "checkout + order")
    for tasks in ("1 task", "4 tasks")
}
SMALL_ASYNC = ("--tasks", "1", "4", "--lag-tasks", "2")
LAG_LINE = re.compile(
    r"^  (?P<services>.{36}) (?P<phase>.{18}) +(?P<p50>[\d.]+) +(?P<p99>[\d.]+) +[\d.]+ +[\d,]+$"
)


@pytest.fixture
def database(admin_url: str) -> Iterator[str]:
    name = f"shopdb_bench_smoke_{uuid.uuid4().hex[:8]}"
    yield name
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for each in (name, f"{name}_grown"):
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(drop.format(sql.Identifier(each)))


def run_module(admin_url: str, module: str, *args: str) -> str:
    """`python -m module args` from the checkout, with DATABASE_URL set; its output."""
    done = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": admin_url},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def bench(admin_url: str, *args: str) -> str:
    return run_module(admin_url, "bench", "--ops", "24", "--repeats", "2", *SMALL_ASYNC, *args)


def table(output: str) -> dict[tuple[str, str], re.Match[str]]:
    rows = {}
    for line in output.splitlines():
        if match := LINE.match(line):
            rows[(match["workload"].strip(), match["name"].strip())] = match
    return rows


def number(text: str) -> int:
    return int(text.replace(",", ""))


def test_every_workload_through_every_contestant(admin_url: str, database: str) -> None:
    output = bench(admin_url, "--products", "300", "--users", "40", "--database", database)
    rows = table(output)
    every = {**WORKLOADS, **ASYNC_WORKLOADS}
    expected = {(workload, name) for workload, names in every.items() for name in names}
    assert set(rows) == expected
    for match in rows.values():
        assert 0 < number(match["low"]) <= number(match["median"]) <= number(match["high"])
    for workload, names in WORKLOADS.items():
        if "psycopg + pool" in names:
            assert rows[(workload, "psycopg + pool")]["ratio"] == "1.00x"
    for workload in ASYNC_WORKLOADS:
        assert rows[(workload, "psycopg async pool")]["ratio"] == "1.00x"
    targets = output.split("\ntargets\n")[1].splitlines()
    assert len(targets) == 9 + 5  # the async ones: 2 concurrencies, 2 against the ORM, the lag
    assert all(line.rstrip().endswith(("met", "MISSED")) for line in targets)
    assert "PostgreSQL " in output.splitlines()[1]


def test_a_reused_database_takes_a_second_run_of_the_writes(admin_url: str, database: str) -> None:
    """--reuse keeps what the earlier run wrote: the users it inserted are there, and the next
    run names its own past them (it failed with UsernameTaken)."""
    recipe = ("--products", "60", "--users", "10", "--database", database)
    bench(admin_url, *recipe, "--only", "insert")
    output = bench(admin_url, *recipe, "--only", "insert", "--reuse")
    assert f"reused {database}" in output
    assert ("insert user + commit", "shopdb") in table(output)


def test_growth_compares_two_databases(admin_url: str, database: str) -> None:
    output = bench(
        admin_url, "--products", "200", "--users", "20", "--growth", "400", "--database", database
    )
    names = {name for _, name in table(output)}
    assert names == {
        "shopdb @ 200",
        "shopdb @ 400",
        "psycopg + pool @ 200",
        "psycopg + pool @ 400",
    }
    verdicts = [line for line in output.splitlines() if "what it costs at 200" in line]
    reads = [line for line in verdicts if "get product" in line or "load cart" in line]
    assert len(reads) == 4  # each read, through shopdb and through the raw pool
    assert f"seeded {database}_grown: 400 products" in output


def test_the_async_workloads_run_through_every_contestant(admin_url: str, database: str) -> None:
    """`python -m bench async` alone: every async workload at every number of tasks through
    every contestant, the ratios, the event-loop lag through both kinds of route, the targets."""
    output = run_module(
        admin_url, "bench", "async", "--products", "200", "--users", "40", "--ops", "24",
        "--repeats", "2", "--database", database, *SMALL_ASYNC,
    )  # fmt: skip
    print(output)
    rows = table(output)
    assert set(rows) == {(w, name) for w, names in ASYNC_WORKLOADS.items() for name in names}
    assert all(number(match["median"]) > 0 for match in rows.values())
    assert all(rows[(w, "psycopg async pool")]["ratio"] == "1.00x" for w in ASYNC_WORKLOADS)
    ratios = output.split("\nratios of the medians")[1].split("\n\n")[0].splitlines()[1:]
    assert [line[:34].strip() for line in ratios] == list(ASYNC_WORKLOADS)
    lags = [m for line in output.splitlines() if (m := LAG_LINE.match(line))]
    assert {(m["services"].strip(), m["phase"].strip()) for m in lags} == {
        (services, f"2 {phase}")
        for services in ("async services (the app's routes)", "sync services in async def routes")
        for phase in ("registrations", "checkouts")
    }
    targets = output.split("\ntargets\n")[1].splitlines()
    assert len(targets) == 5
    assert all(line.rstrip().endswith(("met", "MISSED")) for line in targets)


BULK_LINE = re.compile(
    r"^(?P<name>shopdb import_products|raw COPY) +(?P<rate>[\d,]+) rows/s +[\d.]+ s"
    r" +peak RSS +(?P<rss>\d+) MB$"
)


def bulk(admin_url: str, database: str, *args: str) -> dict[str, re.Match[str]]:
    output = run_module(admin_url, "bench", "bulk", "--database", database, *args)
    print(output)
    lines = [BULK_LINE.match(line) for line in output.splitlines()]
    return {match["name"]: match for match in lines if match}


def test_bulk_import_bench_runs_both_sides(admin_url: str, database: str) -> None:
    rows = bulk(admin_url, database, "--rows", "3000")
    assert set(rows) == {"shopdb import_products", "raw COPY"}
    assert all(number(match["rate"]) > 0 for match in rows.values())


def test_bulk_import_bench_without_database_url_starts_the_embedded_server() -> None:
    """As the README gives it: no DATABASE_URL, so the embedded server, as for every other
    bench command (here on a data directory of the test's own, stopped afterwards)."""
    with throwaway_dir() as root:
        pgdata = root / "pgdata"
        environment = {
            name: value
            for name, value in os.environ.items()
            if name not in {"DATABASE_URL", "SHOPDB_EMBEDDED", "SHOPDB_MIGRATION_DATABASE_URL"}
        }
        environment["SHOPDB_EMBEDDED_DATA_DIR"] = str(pgdata)
        try:
            done = subprocess.run(
                [sys.executable, "-m", "bench", "bulk", "--rows", "200"],
                cwd=ROOT,
                env=environment,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        finally:
            stop_server(pgdata)
    print(done.stdout)
    assert done.returncode == 0, done.stderr
    lines = [BULK_LINE.match(line) for line in done.stdout.splitlines()]
    assert {match["name"] for match in lines if match} == {"shopdb import_products", "raw COPY"}


CART_ARGS = ("--lines", "1", "7", "--calls", "3")
CART_LINE = re.compile(r"^(?P<case>.{30}) +(?P<lines>[\d,]+) +(?P<median>\d+) +(?P<p95>\d+)$")


def test_cart_bench_times_every_use_case_at_every_size(admin_url: str, database: str) -> None:
    output = run_module(admin_url, "bench", "cart", "--database", database, *CART_ARGS)
    print(output)
    rows = [m for line in output.splitlines() if (m := CART_LINE.match(line))]
    assert {(m["case"].strip(), m["lines"]) for m in rows} == {
        (case, lines)
        for case in (
            "change_quantity",
            "remove_from_cart + add_to_cart",
            "add_to_cart (existing line)",
            "view_cart (whole cart)",
        )
        for lines in ("1", "7")
    }


@pytest.mark.parametrize("op", ["get", "email"])
def test_the_instruction_count_calls_read_the_seeded_rows(
    admin_url: str, database: str, op: str
) -> None:
    """`bench.instructions` runs its calls under valgrind; here, the calls alone (what it runs
    in each of its two processes), on a database the bench seeded: every read finds its row."""
    bench(admin_url, "--products", "50", "--users", "20", "--only", "get", "--database", database)
    url = psycopg.conninfo.make_conninfo(admin_url, dbname=database)
    run_module(admin_url, "bench.instructions", url, f"--op={op}", "--inner=30", "--keys=20")


def test_callgrind_totals_are_read_by_event() -> None:
    from bench.instructions import totals

    simulated = "cmd: python\nevents: Ir I1mr Bcm\nfl=x\n0 5 1 0\nsummary: 3034105 35644 31510\n"
    assert totals(simulated) == {"Ir": 3034105, "I1mr": 35644, "Bcm": 31510}
    assert totals("events: Ir\nsummary: 12\ntotals: 12\n") == {"Ir": 12}
    with pytest.raises(SystemExit, match="no summary"):
        totals("events: Ir\n")


def test_the_segments_of_a_point_read_are_timed(admin_url: str, database: str) -> None:
    bench(admin_url, "--products", "50", "--users", "20", "--only", "get", "--database", database)
    url = psycopg.conninfo.make_conninfo(admin_url, dbname=database)
    output = run_module(admin_url, "bench.segments", url, "--calls=40", "--repeats=2", "--keys=50")
    print(output)
    found = re.search(
        r"entry ([\d.]+)  repository ([\d.]+)  get ([\d.]+)  exit ([\d.]+)  total ([\d.]+) µs",
        output,
    )
    assert found is not None
    parts = [float(found[i]) for i in range(1, 5)]
    assert all(part > 0 for part in parts)
    # The total is the sum before rounding, and all five figures are printed to 0.01: the
    # parts' sum and the total differ by at most 5 x 0.005 (a bound of 0.02 once failed).
    assert abs(sum(parts) - float(found[5])) <= 5 * 0.005 + 1e-9


FLASH_LINE = re.compile(
    r"^ +(?P<stock>[\d,]+) +(?P<threads>\d+) (?P<name>.{20}) +(?P<rate>[\d,]+) +[\d,]+ - [\d,]+"
    r" +(?P<p99>[\d.]+) +(?P<sold_out>[\d.]+)$"
)


def test_flash_sale_runs_every_contestant_and_checks_the_invariants(
    admin_url: str, database: str
) -> None:
    """Half the shoppers and all of them served, at 1 and 3 threads: every run passed the
    invariants (the module exits otherwise) and the table names every contestant."""
    output = run_module(
        admin_url, "bench", "flash", "--shoppers", "12", "--threads", "1", "3", "--repeats", "1",
        "--pool", "2", "--database", database,
    )  # fmt: skip
    print(output)
    rows = [m for line in output.splitlines() if (m := FLASH_LINE.match(line))]
    assert {(m["stock"], m["threads"], m["name"].strip()) for m in rows} == {
        (stock, threads, name)
        for stock in ("6", "12")
        for threads in ("1", "3")
        for name in ("shopdb", "psycopg + pool", "psycopg FOR UPDATE")
    }
    assert all(number(m["rate"]) > 0 for m in rows)
    # Half sold out: some attempts found the product sold out; none did when all were served.
    assert all((float(m["sold_out"]) > 0) == (m["stock"] == "6") for m in rows)
    verdicts = output.split("better raw contestant (checkouts/s; p99)\n")[1].splitlines()
    assert len(verdicts) == 4


def test_the_flash_sale_invariants_catch_a_double_sale(admin_url: str, database: str) -> None:
    """The check the bench runs after every run fails when a unit was sold twice."""
    from bench import flash
    from bench.database import recreate

    url = recreate(admin_url, database)
    hot = flash.fill(url, 4)
    flash.reset(url, hot, 2)
    with psycopg.connect(url) as conn:
        conn.execute("UPDATE products SET inventory_count = 0 WHERE id = %s", (hot,))
    with pytest.raises(SystemExit, match="hot stock left"):
        flash.check(url, hot, 2, 4, 0)
