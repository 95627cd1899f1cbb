"""`shopdb distribute`: the migrated tables spread over a Citus cluster, in the order Citus needs.

As adapters.schema.DISTRIBUTION declares: products a reference table (a copy on every node),
the user's tables distributed by user id and co-located, the lookup tables of usernames and
emails by their key. All of it in one transaction on the coordinator, so a failure leaves the
tables as they were; a run on tables already distributed does nothing, so it is safe to run
again (and two runs at once: the second waits for the first, then finds nothing to do).

Citus cannot distribute a table whose foreign key references a table that is still local, and
a reference table made first turns the local tables that reference it into Citus "local"
tables, which then cannot be distributed. So the foreign keys into the reference table are
dropped, the tables distributed, and the keys added again as the catalog had them, in the same
transaction. The tables' triggers (`updated_at`, the cart cap) run on the shards, which Citus
allows only with `citus.enable_unsafe_triggers` while distributing: they read and write only
the user's own rows, on the node that holds them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from adapters.schema import DISTRIBUTION, Distribution

# One distribute at a time: a second waits here, then finds every table done.
LOCK_KEY = 0x5D15_7B1E
CITUS = "SELECT extversion FROM pg_extension WHERE extname = 'citus'"
IS_COORDINATOR = "SELECT citus_is_coordinator()"
WORKERS = (
    "SELECT count(*) FROM pg_dist_node WHERE noderole = 'primary' AND isactive AND groupid <> 0"
)
# How each table is distributed now: 'n' reference, 'h' hash (by the column named); and its
# replication model, which tells a reference table ('t') from a Citus local table ('s').
DISTRIBUTED = """
    SELECT p.logicalrelid::regclass::text, p.partmethod,
        CASE WHEN p.partmethod = 'h' THEN column_to_column_name(p.logicalrelid, p.partkey) END,
        p.repmodel
    FROM pg_dist_partition p
"""
# Foreign keys into a table about to become a reference table, from tables still local.
INTO = """
    SELECT k.conname, k.conrelid::regclass::text, pg_get_constraintdef(k.oid)
    FROM pg_constraint k
    WHERE k.contype = 'f' AND k.confrelid = %s::regclass AND k.conrelid = ANY(%s::regclass[])
    ORDER BY k.conname
"""
# What every session of the database runs with, set on the database: a unit of work that read
# or wrote the shards of many users in parallel (over several connections per node) could not
# then write products, a reference table other tables' keys refer to ("cannot modify table
# products because there was a parallel operation on a distributed table"). In sequential
# mode such statements use one connection per node.
DATABASE_SETTINGS = {"citus.multi_shard_modify_mode": "sequential"}
SETTINGS = (
    "SET LOCAL citus.enable_unsafe_triggers = on",
    # DDL on tables created in this transaction: over one connection per node.
    "SET LOCAL citus.multi_shard_modify_mode = 'sequential'",
)


class DistributeError(Exception):
    """Distribution refused or failed; the message is one line and nothing was changed."""


@dataclass(frozen=True)
class Outcome:
    distributed: tuple[str, ...]  # the tables this run distributed, in order
    workers: int


def _planned(conn: psycopg.Connection[Any]) -> list[Distribution]:
    """The declared distributions still to do; refuses a table distributed otherwise."""
    rows = conn.execute(DISTRIBUTED).fetchall()
    now = {table: (method, column) for table, method, column, _ in rows}
    local = {table for table, method, _, model in rows if method == "n" and model == "s"}
    todo = []
    for plan in DISTRIBUTION:
        wanted = ("n", None) if plan.column is None else ("h", plan.column)
        found = now.get(plan.table)
        if found is None:
            todo.append(plan)
        elif plan.table in local:
            raise DistributeError(
                f"table {plan.table} is a Citus local table, not {_as(wanted)}: Citus makes one"
                " of every table tied by foreign keys to a table made a reference table before"
                " them (by hand, not by shopdb distribute); undistribute it first"
                " (undistribute_table)"
            )
        elif found != wanted:
            raise DistributeError(
                f"table {plan.table} is already {_as(found)}, not {_as(wanted)} as shopdb"
                " distributes it: undistribute it first (undistribute_table)"
            )
    return todo


def _as(layout: tuple[str, str | None]) -> str:
    method, column = layout
    return "a reference table" if method == "n" else f"distributed by {column}"


def _check_cluster(conn: psycopg.Connection[Any]) -> int:
    if conn.execute(CITUS).fetchone() is None:
        raise DistributeError(
            "this database is not on a Citus coordinator (the citus extension is not"
            " installed in it): on plain PostgreSQL the tables stay as they are; see"
            " docs/scale-out.md for setting up a cluster"
        )
    row = conn.execute(IS_COORDINATOR).fetchone()
    if row is None or not row[0]:
        raise DistributeError("this is a Citus worker, not the coordinator: connect to it")
    workers = conn.execute(WORKERS).fetchone()
    return int(workers[0]) if workers else 0


def distribute(url: str) -> Outcome:
    """Distribute the tables of the database at `url` (a Citus coordinator, migrated to head)
    as adapters.schema.DISTRIBUTION declares. Raises DistributeError on plain PostgreSQL, on a
    worker, or when a table is already distributed in another way."""
    with psycopg.connect(url) as conn:
        workers = _check_cluster(conn)
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        todo = _planned(conn)
        for setting in SETTINGS:
            conn.execute(setting)
        local = [plan.table for plan in todo if plan.column is not None]
        keys = []
        for plan in todo:
            if plan.column is None:
                keys += conn.execute(INTO, (plan.table, local)).fetchall()
        for name, table, _ in keys:
            conn.execute(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                    sql.Identifier(str(table)), sql.Identifier(str(name))
                )
            )
        for plan in todo:
            if plan.column is None:
                conn.execute("SELECT create_reference_table(%s)", (plan.table,))
            else:
                conn.execute(
                    "SELECT create_distributed_table(%s, %s, colocate_with => %s)",
                    (plan.table, plan.column, plan.colocate_with or "default"),
                )
        for name, table, definition in keys:
            # The definition as the catalog printed it before the drop (pg_get_constraintdef).
            conn.execute(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                    sql.Identifier(str(table)),
                    sql.Identifier(str(name)),
                    sql.SQL(str(definition)),
                )
            )
        database = conn.execute("SELECT current_database()").fetchone()
        for name, value in DATABASE_SETTINGS.items():
            conn.execute(
                sql.SQL("ALTER DATABASE {} SET {} = {}").format(
                    sql.Identifier(str(database[0] if database else "")),
                    sql.Identifier(*name.split(".")),
                    sql.Literal(value),
                )
            )
    return Outcome(tuple(plan.table for plan in todo), workers)
