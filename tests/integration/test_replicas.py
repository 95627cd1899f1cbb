# Generated from test_replicas_async.py (tools/generate_sync.py): edit that instead.
"""Reads on a streaming replica: read-your-writes by WAL position, and reads going on while the
replica is stopped, frozen or lagging. Needs the primary and replica of .ci/replicas (run there;
left out of every other run)."""

from __future__ import annotations

import contextvars
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from adapters.postgres import PoolConfig, PostgresUnitOfWorkFactory, create_pool, unit_of_work
from adapters.postgres.replicas import Replica, ReplicaPolicy, Router
from domain.model import NewUser, User
from ports.causality import causal_token, position
from shopdb.cli import app
from shopdb.container import Container, PoolOnFirstUse
from shopdb.health import topology as pool_topology
from shopdb.migrations import upgrade
from shopdb.settings import Settings
from shopdb.testdb import scratch_database, truncate_all, with_database

pytestmark = pytest.mark.replicas

PAIRS = int(os.environ.get("SHOPDB_TEST_REPLICA_PAIRS", "10000"))


def _env(name: str) -> str:
    value = os.environ.get(name)
    assert value, f"{name} is set by .ci/replicas"
    return value


@pytest.fixture(scope="module")
def topology() -> Iterator[tuple[str, str]]:
    """A migrated database on the primary, and its URL on the replica once it has it there."""
    with scratch_database(_env("SHOPDB_TEST_PRIMARY_URL"), "shopdb_replicas") as primary:
        upgrade(primary)
        name = psycopg.conninfo.conninfo_to_dict(primary)["dbname"]
        replica = with_database(_env("SHOPDB_TEST_REPLICA_URL"), str(name))
        for _ in range(200):
            try:
                with psycopg.connect(replica, autocommit=True) as conn:
                    conn.execute("SELECT 1 FROM alembic_version")
                break
            except psycopg.Error:
                time.sleep(0.05)
        yield primary, replica


@pytest.fixture
def shop(topology: tuple[str, str]) -> Iterator[Callable[..., Container]]:
    """Containers over the primary and the replica; each is shut down after the test."""
    primary, replica = topology
    with psycopg.connect(primary, autocommit=True) as conn:
        truncate_all(conn)
    made: list[Container] = []

    def make(**settings: Any) -> Container:
        container = Container(
            settings=Settings(
                **{"DATABASE_URL": primary, "replica_urls": replica, "pool_min_size": 1, **settings}
            )
        )
        container.init_resources()
        made.append(container)
        return container

    yield make
    for container in made:
        container.shutdown_resources()


def router(container: Container) -> Router:
    units = container.unit_of_work()
    assert isinstance(units, PoolOnFirstUse)
    found = units.router()
    assert found is not None
    return found


def shoppers(container: Container, tag: str, count: int) -> list[User]:
    accounts = container.accounts()
    return [
        accounts.register(f"{tag}{n}", f"{tag}{n}@example.com", "pw-long-enough-1")
        for n in range(count)
    ]


def pairs(container: Container, count: int, tag: str) -> int:
    """`count` write-then-read pairs through the services, alternately add to cart then view
    the cart, and checkout then the order history; returns how many reads missed the write."""
    catalog, carts, orders = container.catalog(), container.carts(), container.orders()
    users = [
        container.accounts().register(f"{tag}{n}", f"{tag}{n}@example.com", "pw-long-enough-1")
        for n in range(8)
    ]
    lamp = catalog.create_product("Lamp", "1.00", inventory_count=10 * count)
    router(container).reset_stats()
    stale = 0
    for n in range(count // 2):
        user = users[n % len(users)].id
        added = carts.add_to_cart(user, lamp.id, 1)
        cart = carts.view_cart(user)
        line = next((item for item in cart.items if item.id == added.id), None) if cart else None
        if line is None or line.quantity != added.quantity:
            stale += 1
        order = carts.checkout(user, f"{tag}-{n}")
        history = orders.order_history(user, limit=1)
        if not history.items or history.items[0].id != order.id:
            stale += 1
    return stale


def test_read_your_writes_never_reads_stale_and_without_it_reads_do(
    shop: Callable[..., Container],
) -> None:
    guarded = shop()
    began = time.perf_counter()
    missed = pairs(guarded, PAIRS, "on")
    took = time.perf_counter() - began
    served = router(guarded).stats()
    print(f"\nread-your-writes on: {PAIRS} pairs in {took:.1f} s, {missed} stale, by {served}")
    assert missed == 0
    assert served["primary"] + sum(v for k, v in served.items() if k != "primary") == PAIRS
    guarded.shutdown_resources()

    unguarded = shop(read_your_writes=False)
    began = time.perf_counter()
    missed_off = pairs(unguarded, PAIRS, "off")
    took = time.perf_counter() - began
    served = router(unguarded).stats()
    print(f"read-your-writes off: {PAIRS} pairs in {took:.1f} s, {missed_off} stale, by {served}")
    assert missed_off > 0


def _as_postgres(*command: str) -> None:
    prefix = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]
    subprocess.run(  # noqa: S603 - the server binaries, fixed arguments
        [*prefix, *command], check=True, capture_output=True, timeout=60
    )


def _replica_pids() -> list[int]:
    """The replica's postmaster and every process it started (backends, startup, walreceiver)."""
    data = Path(_env("SHOPDB_TEST_REPLICA_DATA"))
    postmaster = int((data / "postmaster.pid").read_text().split()[0])
    pids = [postmaster]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == postmaster:
            pids.append(int(stat.parent.name))
    return pids


@contextmanager
def stopped() -> Iterator[None]:
    data = _env("SHOPDB_TEST_REPLICA_DATA")
    pg_ctl = str(Path(_env("SHOPDB_TEST_PG_BIN")) / "pg_ctl")
    _as_postgres(pg_ctl, "-D", data, "-m", "fast", "-w", "stop")
    try:
        yield
    finally:
        _as_postgres(pg_ctl, "-D", data, "-l", f"{data}.log", "-w", "start")


@contextmanager
def frozen() -> Iterator[None]:
    pids = _replica_pids()
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


@contextmanager
def paused() -> Iterator[None]:
    replica = _env("SHOPDB_TEST_REPLICA_URL")
    with psycopg.connect(replica, autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
    try:
        yield
    finally:
        with psycopg.connect(replica, autocommit=True) as conn:
            conn.execute("SELECT pg_wal_replay_resume()")


FAULTS = {"stopped": stopped, "frozen": frozen, "lagging": paused}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_reads_go_on_while_the_replica_is_stopped_frozen_or_lagging(
    shop: Callable[..., Container], fault: str
) -> None:
    container = shop(replica_max_lag_ms=200, replica_deadline_ms=500, replica_retry_ms=500)
    carts = container.carts()
    users = shoppers(container, fault, 4)
    routes = router(container)
    lamp = container.catalog().create_product("Lamp", "1.00", inventory_count=100_000)

    def rounds(count: int) -> tuple[int, float]:
        """Write, then read it back in this context (with its token) and in a fresh one
        (none); returns the stale reads among the first, and the slowest read."""
        stale, slowest = 0, 0.0
        for n in range(count):
            user = users[n % len(users)].id
            added = carts.add_to_cart(user, lamp.id, 1)
            began = time.perf_counter()
            cart = carts.view_cart(user)
            middle = time.perf_counter()
            contextvars.Context().run(carts.view_cart, user)
            slowest = max(slowest, middle - began, time.perf_counter() - middle)
            line = next((i for i in cart.items if i.id == added.id), None) if cart else None
            if line is None or line.quantity != added.quantity:
                stale += 1
        return stale, slowest

    rounds(20)
    before = routes.stats()
    assert before[routes.replicas[0].name] > 0, "the healthy replica serves reads"
    routes.reset_stats()
    with FAULTS[fault]():
        stale, slowest = rounds(100)
        during = routes.stats()
    print(
        f"\nreplica {fault}: 200 reads, {stale} stale, slowest {slowest * 1000:.0f} ms"
        f" (bound: deadline 500 ms + watchdog tick 200 ms + wait 50 ms), by {during},"
        f" skipped because: {routes.replicas[0].problem}"
    )
    assert stale == 0
    assert during["primary"] > 0
    routes.reset_stats()
    for _ in range(600):  # back in service once it answers again (pool reconnects back off)
        rounds(1)
        if routes.stats()[routes.replicas[0].name] > 0:
            break
        time.sleep(0.05)
    assert routes.stats()[routes.replicas[0].name] > 0, "the replica serves again"
    assert causal_token() is not None


def test_the_bench_of_read_your_writes_prints_every_workload_and_the_mixed_share(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bench import replicas

    primary, replica = _env("SHOPDB_TEST_PRIMARY_URL"), _env("SHOPDB_TEST_REPLICA_URL")
    argv = ["bench", primary, replica, "--seconds", "0.05", "--repeats", "1", "--products", "50"]
    monkeypatch.setattr("sys.argv", [*argv, "--threads", "2", "--writes", "0.5"])
    replicas.main()
    rows = capsys.readouterr().out.splitlines()
    print("\n".join(rows))
    assert len(rows) == 8
    assert all(float(row.split()[-1]) > 0 for row in rows[1:7])
    found = re.fullmatch(
        r"mixed, 2 threads, 0.05 s: (\d+) writes each read back with read-your-writes"
        r" \((\d+) stale\), (\d+) plain reads; reads served by replica (\d+) \([\d.]+%\),"
        r" by primary (\d+)",
        rows[7],
    )
    assert found, rows[7]
    pairs, stale, plain, by_replica, by_primary = map(int, found.groups())
    assert pairs > 0
    assert plain > 0
    assert stale == 0
    assert by_replica + by_primary == pairs + plain, "every read-only unit of work is counted"
    assert by_replica > 0


def test_check_shows_each_replica_and_its_lag_and_stays_healthy_without_it(
    topology: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    primary, replica = topology
    monkeypatch.setenv("DATABASE_URL", primary)
    monkeypatch.setenv("SHOPDB_REPLICA_URLS", replica)
    monkeypatch.delenv("SHOPDB_BACKEND", raising=False)

    def check() -> dict[str, Any]:
        result = CliRunner().invoke(app, ["check", "--json"])
        assert result.exit_code == 0, result.output
        report: dict[str, Any] = json.loads(result.output)
        return report

    up = check()
    print(f"\n{up['replicas']}")
    assert up["healthy"] is True
    assert [r["database"] for r in up["replicas"]] == [replica]
    assert position(up["replicas"][0]["replayed"]) > 0
    assert up["replicas"][0]["lag_s"] >= 0
    assert "shopdb-replica-1" not in up["pool"]
    with stopped():
        down = check()
    print(down["replicas"])
    assert down["healthy"] is True, "reads go on from the primary"
    assert "error" in down["replicas"][0]
    assert "replayed" not in down["replicas"][0]


def test_a_server_that_is_not_in_recovery_never_serves_as_a_replica(
    shop: Callable[..., Container], topology: tuple[str, str]
) -> None:
    """Named as a replica by mistake, or promoted since: reads go to the primary instead."""
    primary, _ = topology
    container = shop(replica_urls=primary)
    carts = container.carts()
    (user,) = shoppers(container, "mistaken", 1)
    lamp = container.catalog().create_product("Lamp", "1.00", inventory_count=10)
    carts.add_to_cart(user.id, lamp.id, 1)
    contextvars.Context().run(carts.view_cart, user.id)  # no token: any replica would do
    routes = router(container)
    assert routes.stats()["shopdb-replica-1"] == 0
    assert routes.stats()["primary"] >= 1
    assert routes.replicas[0].problem == "not in recovery: not a replica"


@pytest.mark.parametrize("fault", ["stopped", "frozen"])
def test_topology_reports_a_stopped_or_frozen_replica_within_its_deadline_and_the_primary_healthy(
    shop: Callable[..., Container], topology: tuple[str, str], fault: str
) -> None:
    primary_url, replica_url = topology
    canary = "never-shown-1"  # trust auth ignores it: only its masking is checked
    masked = replica_url.replace("postgres@", f"postgres:{canary}@")
    container = shop(replica_urls=masked, replica_deadline_ms=500)
    up = pool_topology(container)
    print(f"\n{up.as_dict()}")
    assert up.healthy
    assert (up.primary.role, up.primary.reachable, up.primary.migrated) == ("primary", True, True)
    assert up.primary.database == primary_url
    assert up.primary.pool["pool_min"] == 1
    (replica,) = up.replicas
    assert (replica.name, replica.role, replica.error) == ("shopdb-replica-1", "replica", None)
    assert replica.replayed is not None
    assert position(replica.replayed) > 0
    assert replica.lag_s is not None
    assert replica.lag_s >= 0
    assert replica.database == masked.replace(canary, "***")
    with FAULTS[fault]():
        began = time.perf_counter()
        down = pool_topology(container)
        took = time.perf_counter() - began
    print(f"replica {fault}: answered in {took * 1000:.0f} ms: {down.as_dict()}")
    assert took < 0.5 + 0.2 + 0.3, "the deadline, the watchdog's tick, and some slack"
    assert down.healthy
    assert down.primary.reachable
    assert down.primary.migrated
    (replica,) = down.replicas
    assert replica.error
    assert not replica.reachable
    assert "\n" not in replica.error
    assert (replica.replayed, replica.lag_s) == (None, None)
    assert canary not in repr(down)
    assert canary not in json.dumps(down.as_dict())


def _round_trips(trace: str) -> int:
    """Round trips that run statements in a libpq trace: each run of client messages with an
    Execute or a Query in it, up to the server's answer (not the one that only prepares a
    statement, which psycopg makes once at its fifth execution)."""
    trips, runs = 0, False
    for line in trace.splitlines():
        direction, _, rest = line.partition("\t")
        if direction == "F" and rest.split("\t")[1:2] in (["Execute"], ["Query"]):
            runs = True
        elif direction == "B" and runs:
            trips, runs = trips + 1, False
    return trips


@pytest.mark.parametrize("pipelined", [True, False])
def test_the_check_goes_with_the_first_read_in_one_round_trip(
    topology: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    pipelined: bool,
) -> None:
    """With the replica's answer never fresh (fresh_for 0), every read-only unit of work needs
    the check: sent with its first read, one round trip per point read; alone, two."""
    monkeypatch.setattr(unit_of_work, "_PIPELINE", pipelined)
    primary_url, replica_url = topology
    primary = create_pool(PoolConfig(conninfo=primary_url, min_size=1, max_size=1))
    replica = create_pool(PoolConfig(conninfo=replica_url, min_size=1, max_size=1))
    try:
        policy = ReplicaPolicy(fresh_for=0.0, max_lag=60.0, wait=2.0)
        routes = Router(primary, [Replica("replica", replica)], policy)
        units = PostgresUnitOfWorkFactory(primary, router=routes)
        tag = f"traced{int(pipelined)}"
        new = NewUser(username=tag, email=f"{tag}@example.com", password_hash="x" * 20)

        def reads() -> tuple[int, str]:
            with units() as work:
                user = work.users.add(new)
                work.commit()
            with units(read_only=True) as work:  # waits for the replica to replay it
                assert work.users.get(user.id) == user
            routes.reset_stats()
            conn = replica.getconn()
            traced = tmp_path / "trace"
            with traced.open("w") as out:
                conn.pgconn.trace(out.fileno())
                conn.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
                replica.putconn(conn)
                for _ in range(5):
                    with units(read_only=True) as work:
                        assert work.users.get(user.id) == user
                conn = replica.getconn()
                conn.pgconn.untrace()
                replica.putconn(conn)
            return user.id, traced.read_text()

        _, trace = contextvars.Context().run(reads)
        print(f"\npipelined {pipelined}: {_round_trips(trace)} round trips for 5 reads")
        assert routes.stats() == {"primary": 0, "replica": 5}
        assert _round_trips(trace) == (5 if pipelined else 10)
    finally:
        primary.close()
        replica.close()
