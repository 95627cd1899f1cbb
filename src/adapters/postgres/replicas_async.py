"""Read replicas: which server a unit of work runs on, and read-your-writes by WAL position.

Units of work that write run on the primary; each commit there leaves its WAL position as the
context's causal token (ports/causality.py). A read-only unit of work runs on a replica that
has replayed that position (pg_last_wal_replay_lsn() >= token) and lags less than `max_lag`;
it waits at most `wait` for one to catch up, then reads from the primary. Without a token,
any replica within `max_lag` serves.

The check is a statement of its own on the replica, before the reads: a read's snapshot is
taken when it starts, so every read after the check sees what the check saw replayed. (Folded
into the read's own statement, the replay position can move between the snapshot and the
check, and a stale read gets through.) Unobserved units of work send the check in one round
trip with their first read, still as two statements (a pipeline: unit_of_work.FirstRead),
and discard the read's answer when the check says no. A replica's answer stands for
`fresh_for`: within it,
a read whose token the replica is known to have replayed needs no check at all, as replay
only moves forward.

Faults: a replica that refuses connections, does not answer within `deadline` (frozen), or
lags past `max_lag` (replay paused) is skipped for `retry_after`, then tried again. So a read
waits at most `deadline` (plus the watchdog's tick) per faulty replica, and `wait` for one that
is behind the token, before the primary serves it."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg_pool import PoolTimeout

from ports.causality import last_position, position, unreplayed_since

if True:  # ASYNC
    # Each side has its own classes of this module, ReplicaPolicy and Seen too: the async
    # router takes this module's policy (the container makes it with the sync one's values).
    import asyncio

    from adapters.postgres.async_pool import AsyncShopdbPool, give_back_async
else:
    from adapters.postgres.pool import ShopdbPool, give_back

# One statement: the replay position and the lag behind the primary, in seconds. Received
# WAL not yet replayed means the replica is behind by the time since its last replayed
# commit; all of it replayed means not behind at all (an idle primary sends nothing new).
# NULL position on a server not in recovery: after a promotion pg_last_wal_replay_lsn() keeps
# the last position it replayed, and the server would pass as a replica that never lags.
# The third column, the server's system identifier, tells a standby of this primary from one of
# another cluster (a wrong host in the settings): positions of two clusters do not compare.
GUARD = (
    "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text END,"
    " CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
    " ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)"
    " END::float8,"
    " (SELECT system_identifier FROM pg_control_system())"
)
SYSTEM = "SELECT system_identifier FROM pg_control_system()"


@dataclass(frozen=True, kw_only=True)
class ReplicaPolicy:
    """How reads use replicas (seconds)."""

    max_lag: float = 5.0
    wait: float = 0.05
    deadline: float = 0.5
    retry_after: float = 1.0
    fresh_for: float = 0.1
    # False: reads ignore causal tokens (any replica within max_lag): for measuring only.
    read_your_writes: bool = True


@dataclass(slots=True)
class Seen:
    """What one server behind a replica's URL last answered to the check."""

    replayed: int = -1  # the highest replay position seen; -1: none yet
    lag: float = 0.0
    at: float = -1e9  # when it answered


class AsyncReplica:
    """One replica's pool and what shopdb last learned about it. What a check learns is kept
    per server, not per URL: one URL may reach several standbys (libpq's multi-host form with
    load_balance_hosts, or a name in front of several), each with its own replay position."""

    def __init__(self, name: str, pool: AsyncShopdbPool) -> None:
        self.name = name
        self.pool = pool
        self.servers: dict[tuple[Any, Any], Seen] = {}
        self.avoid_until = 0.0
        self.problem: str | None = None  # why it was last skipped
        self.served = 0
        self.skipped = 0

    def seen(self, conn: psycopg.AsyncConnection[Any]) -> Seen:
        """What the server `conn` reaches last answered (the host and port libpq connected to)."""
        pgconn = conn.pgconn
        return self.servers.setdefault((pgconn.host, pgconn.port), Seen())

    def skip(self, problem: str, retry_after: float) -> None:
        self.problem = problem
        self.skipped += 1
        self.avoid_until = time.monotonic() + retry_after


class AsyncRouter:
    """Chooses the pool and connection of each unit of work. With no replicas, every unit of
    work goes to the primary and nothing is checked."""

    def __init__(
        self,
        primary: AsyncShopdbPool,
        replicas: Sequence[AsyncReplica] = (),
        policy: ReplicaPolicy | None = None,
    ) -> None:
        self.primary = primary
        self.replicas = tuple(replicas)
        self.policy = policy or ReplicaPolicy()
        self.primary_reads = 0  # read-only units of work the primary served
        self._system: int | None = None  # the primary's system identifier, once asked
        self._next = 0
        self._lock = threading.Lock()  # the counters and the rotation

    async def checkout(
        self, read_only: bool, defer: bool = False
    ) -> tuple[AsyncShopdbPool, psycopg.AsyncConnection[Any], Pending | None]:
        """A pool, a connection taken from it, and with `defer` the replica's check left to
        send with the first read (Pending; None when no check is needed). Raises what the
        primary pool's getconn raises (PoolTimeout, psycopg.Error) when the primary serves
        and fails."""
        if read_only and self.replicas:
            found = await self._replica(defer)
            if found is not None:
                return found
            with self._lock:
                self.primary_reads += 1
        return self.primary, await self.primary.getconn(), None

    async def _replica(
        self, defer: bool
    ) -> tuple[AsyncShopdbPool, psycopg.AsyncConnection[Any], Pending | None] | None:
        policy = self.policy
        target = last_position() if policy.read_your_writes else None
        with self._lock:
            start = self._next
            self._next = (start + 1) % len(self.replicas)
        for offset in range(len(self.replicas)):
            replica = self.replicas[(start + offset) % len(self.replicas)]
            if time.monotonic() < replica.avoid_until:
                continue
            try:
                conn = await replica.pool.getconn(timeout=policy.deadline)
            except (PoolTimeout, psycopg.Error) as exc:
                replica.skip(f"no connection: {_first_line(exc)}", policy.retry_after)
                continue
            pending = None
            if True:  # ASYNC
                try:  # cancelled during the check, the connection goes back to its pool
                    deferred = defer and not self._known(replica, conn, target)
                    ready = deferred or await self._ready(replica, conn, target)
                except BaseException:
                    await give_back_async(replica.pool, conn)
                    raise
                if deferred:
                    pending = Pending(self, replica, target)
                elif not ready:
                    await give_back_async(replica.pool, conn)
                    continue
            else:
                if defer and not self._known(replica, conn, target):
                    pending = Pending(self, replica, target)
                elif not self._ready(replica, conn, target):
                    give_back(replica.pool, conn)
                    continue
            with self._lock:
                replica.served += 1
            return replica.pool, conn, pending
        return None

    def _known(
        self, replica: AsyncReplica, conn: psycopg.AsyncConnection[Any], target: int | None
    ) -> bool:
        """Whether the last answer of the server `conn` reaches, still fresh, says it may
        serve: no check."""
        policy, seen = self.policy, replica.seen(conn)
        return (
            time.monotonic() - seen.at < policy.fresh_for
            and seen.lag <= policy.max_lag
            and (target is None or seen.replayed >= target)
        )

    async def _ready(
        self, replica: AsyncReplica, conn: psycopg.AsyncConnection[Any], target: int | None
    ) -> bool:
        if self._known(replica, conn, target):
            return True
        policy = self.policy
        give_up = time.monotonic() + policy.wait
        watchdog = replica.pool.deadlines.watchdog
        cur = conn.cursor()
        while True:
            watchdog.watch(conn, policy.deadline)
            try:
                await cur.execute(GUARD)
                row = await cur.fetchone()
            except psycopg.Error as exc:
                replica.skip(f"check failed: {_first_line(exc)}", policy.retry_after)
                return False
            finally:
                watchdog.done(conn)
            verdict = await self.record(replica, conn, row, target)
            if verdict is not None:
                return verdict
            left = give_up - time.monotonic()
            if left <= 0:
                return False
            if True:  # ASYNC
                await asyncio.sleep(min(0.002, left))
            else:
                time.sleep(min(0.002, left))

    async def record(
        self,
        replica: AsyncReplica,
        conn: psycopg.AsyncConnection[Any],
        row: Any,
        target: int | None,
    ) -> bool | None:
        """Learns from the check's answer `row` on `conn`: True, the replica may serve; False,
        it is skipped for a while (not a replica, lagging past max_lag); None, it is behind the
        target."""
        policy = self.policy
        if row is None or row[0] is None:
            replica.skip("not in recovery: not a replica", policy.retry_after)
            return False
        if len(row) > 2 and row[2] != await self.system():
            replica.skip(
                "another cluster's server: not a replica of this primary", policy.retry_after
            )
            return False
        replayed, lag = position(row[0]), float(row[1])
        since = unreplayed_since(replayed)  # cut off from the primary, it reports no lag itself
        if since is not None:
            lag = max(lag, time.monotonic() - since)
        seen = replica.seen(conn)
        seen.replayed = max(seen.replayed, replayed)
        seen.lag, seen.at = lag, time.monotonic()
        if lag > policy.max_lag:
            replica.skip(f"lagging {lag:.1f} s behind", policy.retry_after)
            return False
        replica.problem = None
        if target is None or replayed >= target:
            return True
        return None

    async def system(self) -> int | None:
        """The primary's system identifier, asked once; None while the primary cannot say
        (then no replica is taken for another cluster's)."""
        if self._system is None:
            try:
                async with self.primary.connection(timeout=self.policy.deadline) as conn:
                    row = await (await conn.execute(SYSTEM)).fetchone()
            except (PoolTimeout, psycopg.Error):
                return None
            self._system = None if row is None else int(row[0])
        return self._system

    def moved(self, replica: AsyncReplica) -> None:
        """A read counted for `replica` that the primary served after all."""
        with self._lock:
            replica.served -= 1
            self.primary_reads += 1

    def stats(self) -> dict[str, int]:
        """Read-only units of work served, by server: 'primary' and each replica's name."""
        with self._lock:
            counts = {"primary": self.primary_reads}
            counts.update((replica.name, replica.served) for replica in self.replicas)
        return counts

    def reset_stats(self) -> None:
        with self._lock:
            self.primary_reads = 0
            for replica in self.replicas:
                replica.served = replica.skipped = 0


@dataclass(frozen=True, slots=True)
class Pending:
    """A replica's check not yet sent: the unit of work sends it in one round trip with its
    first read (two statements in a pipeline, the check first, so the read's snapshot is taken
    after the check's answer), and acts on the answer with `router.record`."""

    router: AsyncRouter
    replica: AsyncReplica
    target: int | None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
