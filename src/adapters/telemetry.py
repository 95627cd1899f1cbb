"""What shopdb tells operators: DEBUG records per use case and unit of work, WARNINGs for slow
statements, and, with the `otel` extra, OpenTelemetry spans and metrics."""

from __future__ import annotations

import logging
import math
from asyncio import CancelledError
from contextvars import ContextVar
from time import perf_counter
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ports.observation import Observer

if TYPE_CHECKING:
    from adapters.otel import Otel

services_log = logging.getLogger("shopdb.services")
database_log = logging.getLogger("shopdb.postgres")

DEBUG = logging.DEBUG


class Tally:
    """Statements and units of work of the use case running in this context."""

    __slots__ = ("statements", "units")

    def __init__(self) -> None:
        self.statements = 0
        self.units = 0


_current: ContextVar[Tally | None] = ContextVar("shopdb_use_case", default=None)


def report(statements: int) -> None:
    """Add a finished unit of work's statements to the use case it ran in, if any is observed."""
    tally = _current.get()
    if tally is not None:
        tally.statements += statements
        tally.units += 1


def outcome(error: type[BaseException] | None) -> str:
    """How a use case or a unit of work ended, for its record: `ok`, `cancelled` (its task was
    cancelled, a decision of its caller rather than a failure of its own), or the error's class
    only (a message may carry input, a login name)."""
    if error is None:
        return "ok"
    return "cancelled" if issubclass(error, CancelledError) else error.__name__


class Telemetry:
    """One per application (the container's): the slow-statement threshold and, when enabled,
    the OpenTelemetry instruments. Whether to observe is decided once per use case and once per
    unit of work (`logger.isEnabledFor`), so with DEBUG off and no OpenTelemetry a statement
    runs on the plain cursor and pays nothing; only the slow check on times the session takes
    anyway remains."""

    def __init__(self, *, slow_statement_ms: int = 500, otel: Otel | None = None) -> None:
        self.slow = slow_statement_ms / 1000 if slow_statement_ms > 0 else math.inf
        self.slow_ms = slow_statement_ms
        self.otel = otel

    @staticmethod
    def with_opentelemetry(
        *, slow_statement_ms: int = 500, tracer_provider: Any = None, meter_provider: Any = None
    ) -> Telemetry:
        """Telemetry with spans and metrics, through the given providers or, by default, the
        ones the application set globally. Raises RuntimeError without the `otel` extra."""
        try:
            from adapters.otel import Otel
        except ImportError:
            raise RuntimeError(
                "OpenTelemetry is enabled but opentelemetry-api is not installed:"
                " install shopdb[otel]"
            ) from None
        otel = Otel(tracer_provider=tracer_provider, meter_provider=meter_provider)
        return Telemetry(slow_statement_ms=slow_statement_ms, otel=otel)

    def use_case(self, name: str) -> UseCase | None:
        if self.otel is None and not services_log.isEnabledFor(DEBUG):
            return None
        return UseCase(name, self.otel)

    def observing(self) -> bool:
        """Whether a unit of work starting now counts and times its statements: for its own
        record, for spans, or for the use case it runs in (its record counts them too)."""
        return (
            self.otel is not None or database_log.isEnabledFor(DEBUG) or _current.get() is not None
        )

    def watch_pool(self, pool: Any) -> None:
        """Report `pool`'s gauges (from `get_stats()`) while it is open, if metrics are on."""
        if self.otel is not None:
            self.otel.watch_pool(pool)


QUIET = Telemetry()


class UseCase:
    """The observation of one service call: a span around it, a DEBUG record after it."""

    __slots__ = ("_name", "_otel", "_scope", "_started", "_tally", "_token")

    def __init__(self, name: str, otel: Otel | None) -> None:
        self._name = name
        self._otel = otel
        self._tally = Tally()
        self._scope: Any = None

    def __enter__(self) -> UseCase:
        if self._otel is not None:
            self._scope = self._otel.use_case(self._name)
            self._scope.__enter__()
        self._token = _current.set(self._tally)
        self._started = perf_counter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        elapsed = perf_counter() - self._started
        _current.reset(self._token)
        tally = self._tally
        if services_log.isEnabledFor(DEBUG):
            services_log.debug(
                "use case %s: %s, %d statements in %d units of work, %.3f ms",
                self._name,
                outcome(exc_type),
                tally.statements,
                tally.units,
                elapsed * 1000,
            )
        if self._scope is not None:
            self._scope.__exit__(exc_type, exc, tb)


# The class's conformance to its port: `mypy src` fails here when a port method is missing
# or its signature differs.
_conforms: type[Observer] = Telemetry
