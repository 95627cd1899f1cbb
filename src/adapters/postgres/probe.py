# Generated from probe_async.py (tools/generate_sync.py): edit that instead.
"""Counting, timing and tracing the statements of one unit of work, on a cursor used only while
someone observes (DEBUG logging on `shopdb.postgres`, or OpenTelemetry)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from time import perf_counter
from typing import Any, Self

import psycopg
from psycopg import sql

from adapters.postgres.pool import tended
from adapters.telemetry import DEBUG, Telemetry, database_log, outcome, report


def slow_call(seconds: float, threshold: float) -> None:
    """The WARNING for a slow call seen without a probe: no statement text at hand there."""
    database_log.warning(
        "slow database call: %.0f ms (threshold %.0f ms); set logger shopdb.postgres to DEBUG"
        " to have each slow statement named",
        seconds * 1000,
        threshold * 1000,
    )


class Probe:
    """What one unit of work sent. Every statement on the probed cursor counts, BEGIN and
    COMMIT included; a slow one is a WARNING naming its SQL (placeholders, never values)."""

    __slots__ = ("_otel", "_server", "_slow", "_started", "statements")

    def __init__(self, telemetry: Telemetry, conn: psycopg.Connection[Any]) -> None:
        self.statements = 0
        self._started = perf_counter()
        self._slow = telemetry.slow
        self._otel = telemetry.otel
        self._server: dict[str, Any] = _server(conn) if self._otel is not None else {}

    @contextmanager
    def statement(self, query: Any, cursor: psycopg.Cursor[Any]) -> Iterator[None]:
        self.statements += 1
        text = _text(query, cursor)
        operation = text.split(None, 1)[0].upper() if text.strip() else ""
        otel, span = self._otel, None
        if otel is not None:
            attributes = {**self._server, "db.operation.name": operation, "db.query.text": text}
            span = otel.statement(
                f"{operation} {self._server.get('db.namespace', '')}".strip(), attributes
            )
        started = perf_counter()
        error: BaseException | None = None
        try:
            yield
        except BaseException as exc:
            error = exc
            raise
        finally:
            elapsed = perf_counter() - started
            if elapsed > self._slow:
                database_log.warning(
                    "slow statement: %.0f ms (threshold %.0f ms): %s",
                    elapsed * 1000,
                    self._slow * 1000,
                    " ".join(text.split()),
                )
            if otel is not None:
                otel.ended(span, elapsed, {**self._server, "db.operation.name": operation}, error)

    def finish(self, kind: str, error: type[BaseException] | None) -> None:
        """The unit of work is over: its DEBUG record, and its share of the use case's tally."""
        report(self.statements)
        if database_log.isEnabledFor(DEBUG):
            database_log.debug(
                "unit of work (%s): %s, %d statements, %.3f ms",
                kind,
                outcome(error),
                self.statements,
                (perf_counter() - self._started) * 1000,
            )


def _text(query: Any, cursor: psycopg.Cursor[Any]) -> str:
    if isinstance(query, str):
        return query
    if isinstance(query, bytes):
        return query.decode("utf-8", "replace")
    if isinstance(query, sql.Composable):
        return query.as_string(cursor)
    return str(query)


def _server(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """The connection's semantic-convention attributes, read once per connection."""
    state = tended(conn)
    found = state.server
    if found is None:
        info = conn.info
        found = {"db.system.name": "postgresql", "db.namespace": info.dbname}
        # server.address is a host name or, on a Unix socket, the socket's directory.
        found["server.address"] = info.host
        if info.port:
            found["server.port"] = int(info.port)
        state.server = found
    return found


class ProbedCursor(psycopg.Cursor[Any]):
    """The connection's cursor while a probe watches: each statement goes through the probe."""

    probe: Probe

    def execute(
        self,
        query: Any,
        params: Any = None,
        *,
        prepare: bool | None = None,
        binary: bool | None = None,
    ) -> Self:
        with self.probe.statement(query, self):
            return super().execute(query, params, prepare=prepare, binary=binary)

    def executemany(
        self, query: Any, params_seq: Iterable[Any], *, returning: bool = False
    ) -> None:
        with self.probe.statement(query, self):
            super().executemany(query, params_seq, returning=returning)

    @contextmanager
    def copy(
        self, statement: Any, params: Any = None, *, writer: Any = None
    ) -> Iterator[psycopg.Copy]:
        with (
            self.probe.statement(statement, self),
            super().copy(statement, params, writer=writer) as copy,
        ):
            yield copy


def probed_cursor(conn: psycopg.Connection[Any], probe: Probe) -> ProbedCursor:
    """The connection's probed cursor, kept with it like its plain one, now reporting to `probe`.
    It is of the connection's own cursor class too, so a cursor_factory an application set still
    applies while the unit of work is observed."""
    state = tended(conn)
    cursor = state.probed
    if not isinstance(cursor, ProbedCursor) or cursor.closed:
        cursor = state.probed = _probed_class(conn.cursor_factory)(conn)
    cursor.probe = probe
    return cursor


_CLASSES: dict[type[Any], type[ProbedCursor]] = {}


def _probed_class(base: type[Any]) -> type[ProbedCursor]:
    found = _CLASSES.get(base)
    if found is None:
        found = ProbedCursor
        if base is not psycopg.Cursor and issubclass(base, psycopg.Cursor):
            found = type(f"Probed{base.__name__}", (ProbedCursor, base), {})
        found = _CLASSES.setdefault(base, found)
    return found
