"""Read replicas, read-your-writes and failover: call sequences whose outcome once contradicted
the documentation (README "Read replicas and failover", docs/scale-out.md, ports/causality.py);
each test's docstring says what went wrong and what is expected. They need the primary and
replica of .ci/replicas (`REPLICAS_PORT=... .ci/replicas start`, then the variables it
prints)."""

from __future__ import annotations

import asyncio
import contextvars
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from adapters.postgres.replicas_async import AsyncRouter
from domain.errors import DomainError, InvalidInput
from ports.causality import causal_token, position, reading_after
from shopdb.cli import app
from shopdb.migrations import upgrade
from shopdb.settings import Settings
from shopdb.testdb import scratch_database, truncate_all, with_database

if True:  # ASYNC
    # The container's async side, under the sync side's names (tests/async_container.py).
    from shopdb.container import AsyncUnits
    from tests.async_container import AsyncContainer
else:
    from shopdb.container import Container, PoolOnFirstUse

pytestmark = pytest.mark.replicas


def env(name: str) -> str:
    value = os.environ.get(name)
    assert value, f"{name} is set by .ci/replicas"
    return value


@pytest.fixture(scope="module")
def topology() -> Iterator[tuple[str, str]]:
    """A migrated database on the primary, and its URL on the replica once it has it there."""
    with scratch_database(env("SHOPDB_TEST_PRIMARY_URL"), "shopdb_replica_review") as primary:
        upgrade(primary)
        name = psycopg.conninfo.conninfo_to_dict(primary)["dbname"]
        replica = with_database(env("SHOPDB_TEST_REPLICA_URL"), str(name))
        replayed(replica)
        yield primary, replica


def replayed(url: str) -> None:
    """Waits until the schema has reached the server of `url` (a standby)."""
    for _ in range(200):
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("SELECT 1 FROM alembic_version")
            return
        except psycopg.Error:
            time.sleep(0.05)


@pytest.fixture
async def shop(topology: tuple[str, str]) -> AsyncIterator[Callable[..., AsyncContainer]]:
    """Containers over the primary and (unless told otherwise) the replica; each is shut down
    after the test."""
    primary, replica = topology
    with psycopg.connect(primary, autocommit=True) as conn:
        truncate_all(conn)
    made: list[AsyncContainer] = []

    def make(**settings: Any) -> AsyncContainer:
        container = AsyncContainer(
            settings=Settings(
                **{"DATABASE_URL": primary, "replica_urls": replica, "pool_min_size": 1, **settings}
            )
        )
        container.init_resources()
        made.append(container)
        return container

    yield make
    for container in made:
        await container.shutdown_resources()


def router(container: AsyncContainer) -> AsyncRouter:
    units = container.unit_of_work()
    if True:  # ASYNC
        assert isinstance(units, AsyncUnits)
    else:
        assert isinstance(units, PoolOnFirstUse)
    found = units.router()
    assert found is not None
    return found


async def fresh(call: Callable[..., Any], *args: Any) -> Any:
    """`call` in an empty context: as another process would run it, with no causal token."""
    if True:  # ASYNC
        return await asyncio.create_task(call(*args), context=contextvars.Context())
    return contextvars.Context().run(call, *args)


def as_postgres(*command: str) -> None:
    prefix = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]
    subprocess.run(  # noqa: S603 - the server binaries, fixed arguments
        [*prefix, *command], check=True, capture_output=True, timeout=120
    )


def replica_pids() -> list[int]:
    """The replica's postmaster and every process it started."""
    data = Path(env("SHOPDB_TEST_REPLICA_DATA"))
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
def frozen() -> Iterator[None]:
    """The replica stopped with SIGSTOP: its postmaster first, so that it forks no backend
    after the processes were listed."""
    os.kill(replica_pids()[0], signal.SIGSTOP)
    pids = replica_pids()
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


@contextmanager
def cut_off(primary: str) -> Iterator[None]:
    """The replica receives no more WAL (the primary's WAL sender stopped with SIGSTOP), as in
    a network partition between the two servers; the replica itself answers as usual."""
    with psycopg.connect(primary, autocommit=True) as conn:
        pids = [row[0] for row in conn.execute("SELECT pid FROM pg_stat_replication")]
    assert pids, "the replica streams from the primary"
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


@contextmanager
def own_standby(port: int) -> Iterator[str]:
    """A second streaming standby of the primary, on `port`; yields its data directory."""
    pg_bin = Path(env("SHOPDB_TEST_PG_BIN"))
    primary = psycopg.conninfo.conninfo_to_dict(env("SHOPDB_TEST_PRIMARY_URL"))
    data = f"/tmp/replica-review-standby-{port}"  # noqa: S108 - the postgres user's scratch
    as_postgres("rm", "-rf", data, f"{data}.log")
    as_postgres(
        str(pg_bin / "pg_basebackup"),
        *("-h", str(primary["host"]), "-p", str(primary["port"]), "-U", "postgres"),
        *("-D", data, "-R", "-X", "stream", "-c", "fast"),
    )
    with Path(data, "postgresql.conf").open("a") as conf:  # root or postgres: both may
        conf.write(f"\nport = {port}\nunix_socket_directories = '/tmp'\n")
    as_postgres(str(pg_bin / "pg_ctl"), "-D", data, "-l", f"{data}.log", "-w", "start")
    try:
        yield data
    finally:
        as_postgres(str(pg_bin / "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop")
        as_postgres("rm", "-rf", data, f"{data}.log")


async def test_a_promoted_replica_never_serves_as_a_replica(topology: tuple[str, str]) -> None:
    """docs/scale-out.md: "a primary named as a replica (by mistake, or a replica promoted
    since) serves no read as a replica". After `pg_ctl promote`, pg_last_wal_replay_lsn() stays
    at the last position replayed (it is NULL only on a server started without recovery), so
    the promoted server passes the check as a replica with lag 0, and serves reads that miss
    every later commit on the primary. Expected: after the promotion, reads with no token are
    served by the primary and find the product created there. Actual: the promoted server
    serves them and the product is not found."""
    primary, _ = topology
    name = str(psycopg.conninfo.conninfo_to_dict(primary)["dbname"])
    with psycopg.connect(primary, autocommit=True) as conn:
        truncate_all(conn)
    port = int(str(psycopg.conninfo.conninfo_to_dict(primary)["port"])) + 20
    with own_standby(port) as data:
        replica = with_database(f"postgresql://postgres@127.0.0.1:{port}/postgres", name)
        replayed(replica)
        container = AsyncContainer(
            settings=Settings(DATABASE_URL=primary, replica_urls=replica, pool_min_size=1)
        )
        container.init_resources()
        try:
            catalog = container.catalog()
            lamp = await catalog.create_product("Lamp", "1.00", inventory_count=1)
            if True:  # ASYNC
                await asyncio.sleep(0.5)
            else:
                time.sleep(0.5)
            await fresh(catalog.get_product, lamp.id)
            assert router(container).stats()["shopdb-replica-1"] == 1, "the standby serves"
            as_postgres(str(Path(env("SHOPDB_TEST_PG_BIN")) / "pg_ctl"), "-D", data, "promote")
            for _ in range(100):
                with psycopg.connect(replica, autocommit=True) as conn:
                    row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
                if row is not None and row[0] is False:
                    break
                if True:  # ASYNC
                    await asyncio.sleep(0.05)
                else:
                    time.sleep(0.05)
            chair = await catalog.create_product("Chair", "1.00", inventory_count=1)
            if True:  # ASYNC
                await asyncio.sleep(1)
            else:
                time.sleep(1)
            routes = router(container)
            routes.reset_stats()
            outcomes = []
            for _ in range(3):
                try:
                    outcomes.append((await fresh(catalog.get_product, chair.id)).name)
                except DomainError as exc:
                    outcomes.append(repr(exc))
            served = routes.stats()
        finally:
            await container.shutdown_resources()
    print(f"\nafter the promotion: {outcomes}, by {served}")
    assert served["shopdb-replica-1"] == 0, "the promoted server served reads as a replica"
    assert outcomes == ["Chair"] * 3


def _formation_hosts() -> list[str]:
    url = env("SHOPDB_TEST_FAILOVER_URL")
    hosts = str(psycopg.conninfo.conninfo_to_dict(url)["host"]).split(",")
    ports = str(psycopg.conninfo.conninfo_to_dict(url)["port"]).split(",")
    return [f"{h}:{p}" for h, p in zip(hosts, ports, strict=True)]


def test_migrate_works_with_the_documented_multi_host_database_url(
    topology: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """README: SHOPDB_MIGRATION_DATABASE_URL defaults to DATABASE_URL, and DATABASE_URL may name
    several hosts (`host1:5432,host2:5432/db?target_session_attrs=read-write`). With such a
    URL (here the primary and its replica, so libpq picks the primary) `shopdb migrate` fails
    with SQLAlchemy's "error: ValueError: invalid literal for int() with base 10:
    '55700,127.0.0.1:55701'" (so does `shopdb demo`), while `shopdb check` and `shopdb db
    current` tell the operator to run `shopdb migrate`; only a single-host
    SHOPDB_MIGRATION_DATABASE_URL gets past it. Expected: migrate connects to the host that
    accepts writes (the database is at head: it succeeds), or refuses with a clear message
    naming SHOPDB_MIGRATION_DATABASE_URL."""
    primary, replica = topology
    p, r = psycopg.conninfo.conninfo_to_dict(primary), psycopg.conninfo.conninfo_to_dict(replica)
    url = (
        f"postgresql://postgres@{p['host']}:{p['port']},{r['host']}:{r['port']}/{p['dbname']}"
        "?target_session_attrs=read-write"
    )
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("SHOPDB_MIGRATION_DATABASE_URL", raising=False)
    monkeypatch.delenv("SHOPDB_BACKEND", raising=False)
    result = CliRunner().invoke(app, ["migrate"])
    print(f"\n{result.exit_code}: {result.output}")
    assert "ValueError" not in result.output
    assert result.exit_code == 0


def test_a_token_is_ascii_hexadecimal_not_anything_that_upper_cases_to_it() -> None:
    """ports.causality: "a string that is not a token raises InvalidInput before anything is
    read". `position` upper-cases before matching, and str.upper() turns the ligature "ﬀ"
    (U+FB00) into "FF", so "0/ﬀ" and "ﬀﬀﬀﬀ/ﬀﬀﬀﬀ" (9 characters) are taken as positions 0xFF and
    2**64 - 1. Expected: InvalidInput for each, as for any other non-hexadecimal character."""
    for text in ("0/\ufb00", "\ufb00\ufb00\ufb00\ufb00/\ufb00\ufb00\ufb00\ufb00"):
        with pytest.raises(InvalidInput), reading_after(text):
            pass


async def test_reads_after_a_write_see_it_when_a_replica_url_names_two_standbys(
    topology: tuple[str, str],
) -> None:
    """A replica URL may reach more than one server: a DNS name or TCP load balancer in front
    of several standbys, or libpq's multi-host form with `load_balance_hosts=random` (accepted
    by the settings). docs/scale-out.md: "A replica's answer stands for 100 ms: a token it is
    known to have replayed needs no check at all, as replay only moves forward". The position
    remembered is per URL, not per server: a check on the standby that has replayed the write
    lets the next read within 100 ms go unchecked to a connection of the other standby, which
    has not. Here the second standby's replay is paused; each write (add to cart) is followed
    by three reads in the same context (view the cart three times, as a page may). Expected:
    no read misses the write (the first read after each write never does: it is checked).
    Actual: the later reads miss it: [0, 36, 50], [0, 25, 37], [0, 12, 25] of 100 in three runs."""
    primary, replica = topology
    name = str(psycopg.conninfo.conninfo_to_dict(primary)["dbname"])
    replica_port = int(str(psycopg.conninfo.conninfo_to_dict(replica)["port"]))
    port = int(str(psycopg.conninfo.conninfo_to_dict(primary)["port"])) + 20
    with psycopg.connect(primary, autocommit=True) as conn:
        truncate_all(conn)
    with own_standby(port):
        second = with_database(f"postgresql://postgres@127.0.0.1:{port}/postgres", name)
        replayed(second)
        both = (
            f"postgresql://postgres@127.0.0.1:{replica_port},127.0.0.1:{port}/{name}"
            "?load_balance_hosts=random"
        )
        container = AsyncContainer(
            settings=Settings(
                DATABASE_URL=primary,
                replica_urls=both,
                replica_max_lag_ms=60_000,  # the paused standby is not skipped for its lag
                pool_min_size=8,  # connections to both standbys (random: all 8 on one, 1/128)
                pool_lifo=False,  # each read takes the next connection in turn
            )
        )
        container.init_resources()
        try:
            carts = container.carts()
            user = await container.accounts().register(
                "balanced", "lb@example.com", "pw-long-enough-1"
            )
            lamp = await container.catalog().create_product("Lamp", "1.00", inventory_count=100_000)
            if True:  # ASYNC
                # The replica pool opens on first use: its 8 connections are made meanwhile.
                await fresh(carts.view_cart, user.id)
                await asyncio.sleep(1)
            else:
                time.sleep(1)

            async def pairs() -> list[int]:
                stale = [0, 0, 0]
                for _ in range(100):
                    added = await carts.add_to_cart(user.id, lamp.id, 1)
                    for n in range(3):  # 3 reads, 8 connections: every pair of neighbours
                        cart = await carts.view_cart(user.id)
                        items = cart.items if cart else ()
                        line = next((i for i in items if i.id == added.id), None)
                        if line is None or line.quantity != added.quantity:
                            stale[n] += 1
                return stale

            with psycopg.connect(second, autocommit=True) as conn:
                conn.execute("SELECT pg_wal_replay_pause()")
                try:
                    stale = await fresh(pairs)
                finally:
                    conn.execute("SELECT pg_wal_replay_resume()")
            served = router(container).stats()
        finally:
            await container.shutdown_resources()
    print(f"\nstale reads, first, second and third after each write: {stale}, by {served}")
    assert stale == [0, 0, 0]


async def test_a_replica_cut_off_from_the_primary_serves_reads_past_the_maximum_lag(
    shop: Callable[..., AsyncContainer], topology: tuple[str, str]
) -> None:
    """SHOPDB_REPLICA_MAX_LAG_MS: "a replica further behind serves no read". A replica that
    stops receiving WAL (the primary's WAL sender stalled: a network partition, a broken
    primary_conninfo, a stuck sender) has received and replayed all it got, so the lag check
    takes it for not behind at all (lag 0) and it serves reads for as long as the cut lasts.
    Expected: 6 s after the last WAL it received (max lag 1 s), a read with no token (another
    process) is not served by it and finds the product created 6 s earlier. Actual: the replica
    serves it, reported lag 0, and the product is not found (`shopdb check --json` shows the
    replica with "lag_s": 0.0 as well)."""
    primary, _ = topology
    container = shop(replica_max_lag_ms=1000)
    catalog = container.catalog()
    await catalog.create_product("Lamp", "1.00", inventory_count=1)
    if True:  # ASYNC
        await asyncio.sleep(0.3)
    else:
        time.sleep(0.3)
    with cut_off(primary):
        chair = await catalog.create_product("Chair", "1.00", inventory_count=1)
        if True:  # ASYNC
            await asyncio.sleep(6)
        else:
            time.sleep(6)
        routes = router(container)
        routes.reset_stats()
        outcomes = []
        for _ in range(3):
            try:
                outcomes.append((await fresh(catalog.get_product, chair.id)).name)
            except DomainError as exc:
                outcomes.append(repr(exc))
        served = routes.stats()
    why = routes.replicas[0].problem
    print(f"\ncut off 6 s, max lag 1 s: {outcomes}, by {served}, skipped because: {why}")
    assert served["shopdb-replica-1"] == 0, "a replica 6 s behind served reads"
    assert outcomes == ["Chair"] * 3


@pytest.mark.failover
async def test_a_standby_of_another_cluster_never_serves_reads(
    shop: Callable[..., AsyncContainer],
) -> None:
    """A replica URL that names a standby of another cluster (a copy-paste of the wrong host:
    here the standby of the pg_auto_failover formation, its database migrated too) is in
    recovery and not behind its own primary, so it passes every check, and its WAL positions
    are compared with tokens of a primary it has nothing to do with. Expected: a server whose
    system identifier is not the primary's serves no read, so both a read with no token and the
    writer's own read (its token) find the product created on the primary. Actual: the other
    cluster's standby serves them: ProductNotFound, even for the writer once that cluster's WAL
    position is past the writer's token."""
    standby = None
    for port in (int(p.split(":")[-1]) for p in _formation_hosts()):
        url = f"postgresql://postgres@127.0.0.1:{port}/shop"
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
            if row is not None and row[0]:
                standby = url
            else:
                upgrade(url)
                formation_primary = url
    assert standby is not None, "the formation has a standby"
    replayed(standby)
    container = shop(replica_urls=standby)
    catalog = container.catalog()
    lamp = await catalog.create_product("Lamp", "1.00", inventory_count=1)
    token = causal_token()
    assert token is not None
    with psycopg.connect(formation_primary, autocommit=True) as conn:
        for _ in range(64):  # a WAL position past the token: segment switches, 16 MB each
            at = conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()
            if at is not None and position(at[0]) > position(token) + (64 << 20):
                break
            conn.execute("SELECT pg_logical_emit_message(false, 'review', 'x')")
            conn.execute("SELECT pg_switch_wal()")
    if True:  # ASYNC
        await asyncio.sleep(1)
    else:
        time.sleep(1)
    outcomes = []
    for call in (lambda: fresh(catalog.get_product, lamp.id), lambda: catalog.get_product(lamp.id)):
        try:
            outcomes.append((await call()).name)
        except DomainError as exc:
            outcomes.append(repr(exc))
    served = router(container).stats()
    print(f"\nanother cluster's standby as a replica: {outcomes}, by {served}")
    assert outcomes == ["Lamp", "Lamp"]
    assert served["shopdb-replica-1"] == 0


if True:  # ASYNC
    # Nothing of the async side in these: `shopdb migrate`, the token's syntax. They are the
    # sync module's only (as is the test of a sync shopdb called through asyncio.to_thread,
    # in test_replica_to_thread.py: an async source cannot write its `async def`).
    del test_migrate_works_with_the_documented_multi_host_database_url
    del test_a_token_is_ascii_hexadecimal_not_anything_that_upper_cases_to_it
