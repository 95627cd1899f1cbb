"""`seed`: progress counts what is committed, and Ctrl-C keeps every committed batch and says so."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from adapters.postgres import PostgresUnitOfWorkFactory
from shopdb import seed as seeding
from shopdb.testdb import scratch_database
from shopdb.testing import InsecureTestHasher

KINDS = ("products", "users", "carts")
OUTCOME = re.compile(
    r"^interrupted: kept (?P<least>at least )?(?P<products>[\d,]+) products, (?P<users>[\d,]+)"
    r" users, (?P<carts>[\d,]+) carts \(each batch was committed on its own\);"
)


def _counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        counts = {}
        for kind in KINDS:
            query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(kind))
            row = conn.execute(query).fetchone()
            counts[kind] = int(row[0]) if row else -1
    return counts


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seeding, "PRODUCT_BATCH", 40)
    monkeypatch.setattr(seeding, "USER_BATCH", 7)
    monkeypatch.setattr(seeding, "CART_BATCH", 3)


def _hasher() -> InsecureTestHasher:
    return InsecureTestHasher()


def test_progress_counts_only_what_is_committed(
    postgres_uow: PostgresUnitOfWorkFactory, clean_database: str, small_batches: None
) -> None:
    """At every step, what the progress has heard of is exactly what another connection
    sees stored."""
    heard = dict.fromkeys(KINDS, 0)
    steps = []

    def advance(kind: str, count: int) -> None:
        heard[kind] += count
        steps.append(kind)
        assert _counts(clean_database) == heard

    report = seeding.seed(
        postgres_uow,
        _hasher(),
        product_count=100,
        user_count=20,
        cart_count=10,
        advance=advance,
    )
    assert (report.products, report.users, report.carts, report.interrupted) == (
        100,
        20,
        10,
        False,
    )
    assert heard == {"products": 100, "users": 20, "carts": 10}
    # batches of 40, 7 and 3: several steps of each kind
    assert [steps.count(kind) for kind in KINDS] == [3, 3, 4]


def test_stop_keeps_the_committed_batches(
    postgres_uow: PostgresUnitOfWorkFactory, clean_database: str, small_batches: None
) -> None:
    asked = 0

    def stop() -> bool:
        nonlocal asked
        asked += 1
        return asked > 4  # three product batches, then one batch of users

    report = seeding.seed(
        postgres_uow, _hasher(), product_count=120, user_count=20, cart_count=10, stop=stop
    )
    assert (report.products, report.users, report.carts, report.interrupted) == (
        120,
        7,
        0,
        True,
    )
    assert _counts(clean_database) == {"products": 120, "users": 7, "carts": 0}


@pytest.fixture
def migrated_url(admin_url: str) -> Iterator[str]:
    from shopdb.migrations import upgrade

    with scratch_database(admin_url, prefix="shopdb_seed_sigint") as url:
        upgrade(url)
        yield url


def _seed_process(url: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("SHOPDB_BACKEND", None)
    return subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "shopdb.cli", "seed", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_products(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while _counts(url)["products"] == 0:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no batch was committed"
        time.sleep(0.05)


def _outcome(process: subprocess.Popen[str]) -> re.Match[str]:
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    # A loaded machine may also log a slow call: the outcome is still the one other line.
    lines = [
        line for line in stderr.splitlines() if line.strip() and "slow database call" not in line
    ]
    assert len(lines) == 1, lines
    match = OUTCOME.match(lines[0])
    assert match is not None, lines[0]
    return match


def _number(match: re.Match[str], kind: str) -> int:
    return int(match[kind].replace(",", ""))


def test_ctrl_c_says_what_was_kept(migrated_url: str) -> None:
    process = _seed_process(migrated_url, "--products", "3000000", "--users", "10")
    _wait_for_products(migrated_url, process)
    process.send_signal(signal.SIGINT)
    match = _outcome(process)
    stored = _counts(migrated_url)
    print(f"kept {stored}; message: {match[0]}")
    assert match["least"] is None
    assert {kind: _number(match, kind) for kind in KINDS} == stored
    assert 0 < stored["products"] < 3_000_000
    assert stored["products"] % seeding.PRODUCT_BATCH == 0
    assert "not stored: " in match.string


def test_a_second_ctrl_c_interrupts_at_once(migrated_url: str) -> None:
    process = _seed_process(migrated_url, "--products", "3000000", "--users", "0")
    _wait_for_products(migrated_url, process)
    process.send_signal(signal.SIGINT)
    time.sleep(0.01)  # two signals pending at once would be delivered as one
    process.send_signal(signal.SIGINT)
    match = _outcome(process)
    stored = _counts(migrated_url)
    print(f"kept {stored}; message: {match[0]}")
    # Usually "at least": the second one came inside a batch; if the first had already let
    # the batch finish, the stop was the graceful one and the count exact.
    if match["least"]:
        assert stored["products"] >= _number(match, "products")
    else:
        assert stored["products"] == _number(match, "products")
    assert stored["products"] % seeding.PRODUCT_BATCH == 0  # never part of a batch


def test_a_failure_midway_says_what_was_kept(
    migrated_url: str, monkeypatch: pytest.MonkeyPatch, small_batches: None
) -> None:
    """The second run makes the same user names (same token, same --seed): its products are
    committed, then the first batch of users fails on a taken username."""
    from typer.testing import CliRunner

    from shopdb.cli import app

    monkeypatch.setenv("DATABASE_URL", migrated_url)
    monkeypatch.delenv("SHOPDB_BACKEND", raising=False)
    monkeypatch.setattr(secrets, "token_hex", lambda _: "fixed")
    args = ["seed", "--products", "50", "--users", "3", "--carts", "0", "--seed", "7"]
    assert CliRunner().invoke(app, args).exit_code == 0
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    print(lines[0])
    assert lines[0].startswith("error: username")
    assert lines[0].endswith(
        "; kept 50 products, 0 users, 0 carts (each batch was committed on its own)"
    )
    assert _counts(migrated_url) == {"products": 100, "users": 3, "carts": 0}
