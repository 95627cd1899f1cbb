"""A synchronous shopdb called from asyncio tasks through `asyncio.to_thread`: read-your-writes
within the task. Beside tests/review/test_replica_defects.py, whose fixtures it uses, as a module
of its own: that one is generated from an async source, which cannot write the `async def` this
test runs (an asyncio application of the sync side). Needs the primary and replica of
.ci/replicas."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from ports.causality import causal_scope
from shopdb.container import Container
from tests.review.test_replica_defects import fresh, shop, topology

__all__ = ["shop", "topology"]

pytestmark = pytest.mark.replicas


def test_a_task_reads_its_own_writes_when_it_calls_shopdb_through_to_thread(
    shop: Callable[..., Container], topology: tuple[str, str]
) -> None:
    """docs/scale-out.md: "Within one thread or asyncio task shopdb remembers it by itself (a
        context variable), so a read after a write in the same task sees the write." shopdb is
        synchronous, so a task calls it through `asyncio.to_thread` (which runs the call in a copy
        of the task's context): the commit's token is set in that copy and lost when it returns,
        and the task's next call reads from a replica that has not replayed the write. Forced here
        by pausing the replica's replay (it stays well within the maximum lag); without the pause
        the loopback replica's own lag does it too (44 and 26 of 150 pairs in two runs). Expected:
        each add-to-cart-then-view-cart pair of one task sees the line it added, as it does when
        the task calls shopdb directly. Actual: the view through to_thread missed it. Such a task
    wraps its body in `causal_scope()` (docs/scale-out.md)."""
    _, replica = topology
    container = shop()
    carts = container.carts()
    user = container.accounts().register("tasker", "tasker@example.com", "pw-long-enough-1")
    lamp = container.catalog().create_product("Lamp", "1.00", inventory_count=100)
    chair = container.catalog().create_product("Chair", "1.00", inventory_count=100)

    def seen(cart: Any, added: Any) -> bool:
        line = next((i for i in cart.items if i.id == added.id), None) if cart else None
        return line is not None and line.quantity == added.quantity

    async def direct() -> bool:
        added = carts.add_to_cart(user.id, lamp.id, 1)
        return seen(carts.view_cart(user.id), added)

    async def threaded() -> bool:
        with causal_scope():  # what the task's calls through to_thread commit counts for it
            added = await asyncio.to_thread(carts.add_to_cart, user.id, chair.id, 1)
            return seen(await asyncio.to_thread(carts.view_cart, user.id), added)

    time.sleep(0.3)
    with psycopg.connect(replica, autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
        try:  # each task in a context of its own, as two requests would run
            saw_direct = fresh(asyncio.run, direct())
            saw_threaded = fresh(asyncio.run, threaded())
        finally:
            conn.execute("SELECT pg_wal_replay_resume()")
    print(f"\na task saw its write: directly {saw_direct}, through to_thread {saw_threaded}")
    assert saw_direct, "called directly, the task reads its own write"
    assert saw_threaded, "through to_thread, the task's read missed its own write"
