"""The planner's statistics after a bulk load: VACUUM (ANALYZE) of every table, as the owner."""

from __future__ import annotations

import psycopg
from psycopg import errors, sql

from adapters.schema import TABLES

# Until autovacuum visits a freshly loaded table, the planner works from the counts of before:
# after `seed --products 400000`, searches took 620-850 ms until a VACUUM ANALYZE, then
# 1-2.5 ms. The seed commits batch by batch, so nothing holds a transaction open here and
# VACUUM can run (an import inside a caller's unit of work can only ANALYZE; see
# adapters/postgres/products.py). Each table is one statement under `statement_timeout`:
# past it the table gets the ANALYZE alone, which samples at most 30,000 rows.
VACUUM = sql.SQL("VACUUM (ANALYZE) {}")
ANALYZE = sql.SQL("ANALYZE {}")


def refresh_statistics(url: str, *, statement_timeout_ms: int, connect_timeout: int) -> list[str]:
    """VACUUM (ANALYZE) each declared table on a connection to `url` (the tables' owner: for
    another role the server skips a table with a warning). Returns the tables that got the
    ANALYZE alone, their VACUUM having run past `statement_timeout_ms`. Raises psycopg.Error."""
    analyzed_only: list[str] = []
    with psycopg.connect(url, autocommit=True, connect_timeout=connect_timeout) as conn:
        conn.execute(
            sql.SQL("SET statement_timeout = {}").format(sql.Literal(statement_timeout_ms))
        )
        for table in TABLES:
            try:
                conn.execute(VACUUM.format(sql.Identifier(table)))
            except errors.QueryCanceled:
                conn.execute(ANALYZE.format(sql.Identifier(table)))
                analyzed_only.append(table)
    return analyzed_only
