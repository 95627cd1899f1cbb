"""How late the event loop answers, measured through the example shop (examples/fastapi_shop)
in process (httpx's ASGI transport, no server): a client asks `GET /ping` 1 ms after each
answer and notes how late the answer came, while many registrations (real Argon2, as in
production) and then many checkouts run through the same app at once. Once through its routes,
which await the async services; once through routes added here that call the sync services
from `async def`, as a naive endpoint would, for contrast."""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from examples.fastapi_shop.app import Registration, UserId, create_app
from fastapi import FastAPI

from shopdb.settings import load_settings

PERIOD = 0.001  # the pause between an answer to /ping and the next request
PASSWORD = "correct horse battery staple"  # noqa: S105 - registered once, never used to log in
TARGET_P99 = 0.020
OURS = "async services (the app's routes)"
NAIVE = "sync services in async def routes"


@dataclass(frozen=True)
class Lag:
    services: str
    phase: str
    samples: Sequence[float]  # seconds, one an answer to /ping: how late it came

    def quantile(self, share: float) -> float:
        ordered = sorted(self.samples)
        return ordered[max(0, math.ceil(share * len(ordered)) - 1)] if ordered else math.nan

    @property
    def p50(self) -> float:
        return self.quantile(0.5)

    @property
    def p99(self) -> float:
        return self.quantile(0.99)

    @property
    def max(self) -> float:
        return self.quantile(1.0)

    def line(self) -> str:
        return (
            f"  {self.services:<36} {self.phase:<18} {self.p50 * 1000:9.1f} "
            f"{self.p99 * 1000:9.1f} {self.max * 1000:9.1f} {len(self.samples):>6,}"
        )


HEADER = f"  {'services':<36} {'phase':<18} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9} {'pings':>6}"


async def _probe(client: httpx.AsyncClient, stop: asyncio.Event, lags: list[float]) -> None:
    while not stop.is_set():
        due = time.perf_counter() + PERIOD
        await asyncio.sleep(PERIOD)
        (await client.get("/ping")).raise_for_status()
        lags.append(time.perf_counter() - due)


async def during(
    client: httpx.AsyncClient, calls: Sequence[Callable[[], Awaitable[httpx.Response]]]
) -> list[float]:
    """The lags of /ping while `calls` run all at once."""
    lags: list[float] = []
    stop = asyncio.Event()
    probe = asyncio.create_task(_probe(client, stop, lags))
    await asyncio.sleep(0)  # the probe is waiting before the calls start
    try:
        async with asyncio.TaskGroup() as group:
            for call in calls:
                group.create_task(_succeeded(call))
    finally:
        stop.set()
        await probe
    return lags


async def _succeeded(call: Callable[[], Awaitable[httpx.Response]]) -> None:
    (await call()).raise_for_status()


def naive_routes(app: FastAPI) -> None:
    """/naive/users and /naive/checkout: the app's registration and checkout, calling the
    container's sync services on the event loop's thread, which waits meanwhile."""
    container = app.state.container
    accounts, carts = container.accounts(), container.carts()

    async def register(body: Registration) -> dict[str, int]:
        return {"id": accounts.register(body.username, body.email, body.password).id}

    async def checkout(user_id: UserId) -> dict[str, int]:
        return {"id": carts.checkout(user_id).id}

    app.add_api_route("/naive/users", register, methods=["POST"], status_code=201)
    app.add_api_route("/naive/checkout", checkout, methods=["POST"], status_code=201)


async def measure(
    url: str,
    pool_size: int,
    names: Iterator[int],
    users: Sequence[int],
    refill: Callable[[Sequence[int]], Awaitable[None]],
) -> list[Lag]:
    """len(users) registrations at once, then as many checkouts of `users`' carts (refilled
    first), through each kind of route; the probe runs throughout."""
    count = len(users)
    settings = load_settings(
        DATABASE_URL=url, pool_min_size=pool_size, pool_max_size=pool_size, pool_timeout=60
    )
    app = create_app(settings)
    naive_routes(app)
    transport = httpx.ASGITransport(app=app)
    lags: list[Lag] = []
    try:
        # The transport sends no lifespan events: the app's startup and shutdown run here.
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://shop", timeout=600) as client,
        ):
            for side, prefix in ((OURS, ""), (NAIVE, "/naive")):
                # A route's first call builds FastAPI's validators and opens the pool: a cost
                # of starting, not the lag of a running app. Each route is called once first.
                await _succeeded(_register(client, prefix, next(names)))
                await refill(users[:1])
                await _succeeded(_checkout(client, prefix, users[0]))
                registrations = [_register(client, prefix, next(names)) for _ in range(count)]
                lags.append(
                    Lag(side, f"{count} registrations", await during(client, registrations))
                )
                await refill(users)
                checkouts = [_checkout(client, prefix, user) for user in users]
                lags.append(Lag(side, f"{count} checkouts", await during(client, checkouts)))
    finally:
        app.state.container.shutdown_resources()  # the sync side's pool
    return lags


def _register(
    client: httpx.AsyncClient, prefix: str, n: int
) -> Callable[[], Coroutine[Any, Any, httpx.Response]]:
    body = {"username": f"lag{n}", "email": f"lag{n}@example.com", "password": PASSWORD}
    return lambda: client.post(f"{prefix}/users", json=body)


def _checkout(
    client: httpx.AsyncClient, prefix: str, user: int
) -> Callable[[], Coroutine[Any, Any, httpx.Response]]:
    headers = {"X-User-Id": str(user), "Idempotency-Key": uuid.uuid4().hex}
    return lambda: client.post(f"{prefix}/checkout", headers=headers)


def verdict(lags: Sequence[Lag]) -> str | None:
    """The target's line: the worst p99 through the async services."""
    ours = [lag for lag in lags if lag.services == OURS]
    if not ours:
        return None
    worst = max(ours, key=lambda lag: lag.p99)
    met = worst.p99 <= TARGET_P99
    label = "event-loop lag p99, async services"
    return (
        f"  {label:<36} {worst.p99 * 1000:6.1f} ms (target <= {TARGET_P99 * 1000:.0f} ms,"
        f" worst: {worst.phase})  {'met' if met else 'MISSED'}"
    )


def markdown(lags: Sequence[Lag]) -> str:
    lines = [
        "| event-loop lag: how late `GET /ping` answers | phase | p50 ms | p99 ms | max ms"
        " | pings |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for lag in lags:
        lines.append(
            f"| {lag.services} | {lag.phase} | {lag.p50 * 1000:.1f} | {lag.p99 * 1000:.1f}"
            f" | {lag.max * 1000:.1f} | {len(lag.samples):,} |"
        )
    return "\n".join(lines)
