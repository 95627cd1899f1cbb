"""OpenTelemetry spans and metrics after the database semantic conventions (the `otel` extra)."""

from __future__ import annotations

import weakref
from asyncio import CancelledError
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.trace import SpanKind, Status, StatusCode

from ports.observation import Observer

SCOPE = "shopdb"
# The semantic conventions' advice for db.client.operation.duration (seconds).
BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0)
# Marks a use case or a statement whose task was cancelled: its caller stopped waiting, which is
# no failure of the operation, so it gets neither error.type nor an error status (as
# OpenTelemetry's own asyncio instrumentation counts a cancelled coroutine apart from errors).
CANCELLED = "shopdb.cancelled"


class Otel:
    """The tracer, the operation-duration histogram and the pool gauges. Made once per
    application: the SDK keeps the first instrument of a name, so the gauges read every pool
    handed to `watch_pool` (one per container start) rather than registering again."""

    def __init__(self, *, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        self.tracer = trace.get_tracer(SCOPE, tracer_provider=tracer_provider)
        meter = metrics.get_meter(SCOPE, meter_provider=meter_provider)
        self.duration = meter.create_histogram(
            "db.client.operation.duration",
            unit="s",
            description="Duration of database client operations.",
            explicit_bucket_boundaries_advisory=list(BUCKETS),
        )
        self._pools: weakref.WeakSet[Any] = weakref.WeakSet()
        meter.create_observable_up_down_counter(
            "db.client.connection.count",
            callbacks=[self._count],
            unit="{connection}",
            description="Connections in the pool, by state (idle: available, used: lent out).",
        )
        meter.create_observable_up_down_counter(
            "db.client.connection.max",
            callbacks=[self._max],
            unit="{connection}",
            description="The most connections the pool opens.",
        )
        meter.create_observable_up_down_counter(
            "db.client.connection.pending_requests",
            callbacks=[self._waiting],
            unit="{request}",
            description="Callers waiting for a connection.",
        )

    def watch_pool(self, pool: Any) -> None:
        self._pools.add(pool)

    def _stats(self) -> Iterator[tuple[dict[str, str], dict[str, int]]]:
        for pool in list(self._pools):
            if not pool.closed:
                yield {"db.client.connection.pool.name": pool.name}, pool.get_stats()

    def _count(self, options: CallbackOptions) -> Iterable[Observation]:
        for name, stats in self._stats():
            size, idle = stats.get("pool_size", 0), stats.get("pool_available", 0)
            yield Observation(idle, {**name, "db.client.connection.state": "idle"})
            yield Observation(size - idle, {**name, "db.client.connection.state": "used"})

    def _max(self, options: CallbackOptions) -> Iterable[Observation]:
        for name, stats in self._stats():
            yield Observation(stats.get("pool_max", 0), name)

    def _waiting(self, options: CallbackOptions) -> Iterable[Observation]:
        for name, stats in self._stats():
            yield Observation(stats.get("requests_waiting", 0), name)

    @contextmanager
    def use_case(self, name: str) -> Iterator[None]:
        """A span around a service call, current while it runs, so its statements are its
        children. An error sets the span's status and error.type, never its message; a
        cancellation sets shopdb.cancelled only."""
        with self.tracer.start_as_current_span(
            name, record_exception=False, set_status_on_exception=False
        ) as span:
            try:
                yield
            except BaseException as exc:
                failed(span, exc)
                raise

    def statement(self, name: str, attributes: dict[str, Any]) -> Any:
        """A span for one statement, child of the current use case; the caller ends it."""
        return self.tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)

    def ended(
        self, span: Any, seconds: float, attributes: dict[str, Any], error: BaseException | None
    ) -> None:
        """End a statement's span and record its duration (with error.type when it failed,
        shopdb.cancelled when its task was cancelled)."""
        if error is not None:
            attributes.update(failed(span, error))
        self.duration.record(seconds, attributes)
        span.end()


def failed(span: Any, exc: BaseException) -> dict[str, Any]:
    """Say on `span` how its operation ended, and return the attributes that say it, for the
    duration's record too: error.type (the class only: a message may carry input) and an error
    status, or for a cancellation shopdb.cancelled and no status."""
    if isinstance(exc, CancelledError):
        told: dict[str, Any] = {CANCELLED: True}
    else:
        told = {"error.type": type(exc).__qualname__}
        span.set_status(Status(StatusCode.ERROR, told["error.type"]))
    span.set_attributes(told)
    return told


# Conformance to its port: `mypy src` fails here when a method is missing or differs.
_conforms: type[Observer] = Otel
