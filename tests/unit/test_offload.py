"""The async account service hashes off the event loop, a bounded number at once, and a
cancelled registration stores nothing."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from adapters.memory.unit_of_work_async import AsyncMemoryUnitOfWorkFactory
from domain.errors import AuthenticationFailed, UserNotFound
from services.accounts_async import AsyncAccountService
from shopdb.testing import InsecureTestHasher

PASSWORD = "correct-horse-battery"


class SlowHasher:
    """A hasher as slow as Argon2 and as blocking (time.sleep holds its thread), which counts
    the hashes in flight and notes the ticker's count as each one starts and ends."""

    def __init__(self, seconds: float, ticks: list[int] | None = None) -> None:
        self._inner = InsecureTestHasher()
        self._seconds = seconds
        self._ticks = ticks if ticks is not None else []
        self._lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0
        self.ticks_seen: list[tuple[int, int]] = []  # the ticker's count at start and end
        self.started = threading.Event()
        self.finished = threading.Event()

    def _slowly(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        self.started.set()
        before = len(self._ticks)
        time.sleep(self._seconds)
        self.ticks_seen.append((before, len(self._ticks)))
        with self._lock:
            self.in_flight -= 1
        self.finished.set()

    def hash(self, password: str) -> str:
        self._slowly()
        return self._inner.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        self._slowly()
        return self._inner.verify(password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self._inner.needs_rehash(password_hash)


async def ticking(ticks: list[int], done: asyncio.Event) -> None:
    """Tick every 10 ms until `done`: it can only tick while the loop is free."""
    while not done.is_set():
        await asyncio.sleep(0.01)
        ticks.append(1)


async def test_hashing_runs_off_the_event_loop() -> None:
    ticks: list[int] = []
    hasher = SlowHasher(0.2, ticks)
    accounts = AsyncAccountService(AsyncMemoryUnitOfWorkFactory(), hasher)
    done = asyncio.Event()
    ticker = asyncio.create_task(ticking(ticks, done))
    try:
        await accounts.register("alice", "alice@example.com", PASSWORD)
    finally:
        done.set()
        await ticker
    ((before, after),) = hasher.ticks_seen
    # On the loop, the 200 ms hash would have let the ticker tick not once.
    assert after - before >= 3


async def test_login_hashes_and_verifies_off_the_event_loop() -> None:
    ticks: list[int] = []
    hasher = SlowHasher(0.1, ticks)
    uow = AsyncMemoryUnitOfWorkFactory()
    accounts = AsyncAccountService(uow, hasher)
    await accounts.register("alice", "alice@example.com", PASSWORD)
    done = asyncio.Event()
    ticker = asyncio.create_task(ticking(ticks, done))
    try:
        user = await accounts.authenticate("alice", PASSWORD)
        with pytest.raises(AuthenticationFailed):
            await accounts.authenticate("nobody", PASSWORD)  # the decoy's hash, then verify
    finally:
        done.set()
        await ticker
    assert user.username == "alice"
    login, decoy, decoy_verified = hasher.ticks_seen[1:]
    for before, after in (login, decoy, decoy_verified):
        assert after - before >= 1


async def test_concurrent_registrations_hash_a_bounded_number_at_once() -> None:
    hasher = SlowHasher(0.05)
    uow = AsyncMemoryUnitOfWorkFactory()
    accounts = AsyncAccountService(uow, hasher, hashing_threads=4)
    await asyncio.gather(
        *(accounts.register(f"user{n}", f"user{n}@example.com", PASSWORD) for n in range(16))
    )
    assert 1 < hasher.peak <= 4
    async with uow(read_only=True) as work:
        for n in range(16):
            await work.users.get_by_username(f"user{n}")


async def test_a_registration_cancelled_while_hashing_stores_nothing() -> None:
    hasher = SlowHasher(0.2)
    uow = AsyncMemoryUnitOfWorkFactory()
    accounts = AsyncAccountService(uow, hasher)
    registering = asyncio.create_task(accounts.register("alice", "alice@example.com", PASSWORD))
    assert await asyncio.to_thread(hasher.started.wait, 5)
    registering.cancel()
    with pytest.raises(asyncio.CancelledError):
        await registering
    # The hash cannot be interrupted: it finishes in its thread, and its result goes nowhere.
    assert await asyncio.to_thread(hasher.finished.wait, 5)
    await asyncio.sleep(0.01)  # the loop hears of the finished hash
    async with uow(read_only=True) as work:
        with pytest.raises(UserNotFound):
            await work.users.get_by_username("alice")
    # Nothing half-done either: the name is free, and the service works on.
    user = await accounts.register("alice", "alice@example.com", PASSWORD)
    assert user.username == "alice"
