"""Read replicas and read-your-writes: attacks on the public API that the layer withstood. They
need the primary and replica of .ci/replicas (left out of every other run)."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeAlias, TypeVar

import psycopg
import pytest
from typer.testing import CliRunner

from domain.errors import DomainError, InvalidInput, StorageUnavailable
from domain.model import NewProduct
from ports.causality import causal_token, reading_after
from shopdb.cli import app
from shopdb.settings import Settings
from tests.review.test_replica_defects_async import fresh, frozen, router, shop, topology

if True:  # ASYNC
    from tests.async_container import AsyncContainer

    P = ParamSpec("P")
    T = TypeVar("T")
    # A function whose result is awaited: the sync module's `Callable`.
    AsyncCallable: TypeAlias = Callable[P, Awaitable[T]]
else:
    from shopdb.container import Container

__all__ = ["shop", "topology"]

pytestmark = pytest.mark.replicas

SECRET = "hunter2-not-to-be-shown"  # pragma: allowlist secret


@pytest.mark.parametrize(
    "urls",
    [
        f"postgresql://u:{SECRET}@h:notaport/db",
        f"host=h password={SECRET}",
        f"postgresql://u:{SECRET}@h/db mysql://u:{SECRET}@h/db",
        f"postgresql://u:{SECRET}@extra@h/db",
        f"postgresql://u:pa/{SECRET}@h/db",
    ],
)
def test_bad_replica_urls_are_refused_without_echoing_the_password(urls: str) -> None:
    with pytest.raises(ValueError, match="replica_urls") as refused:
        Settings(DATABASE_URL="postgresql://a@h/db", replica_urls=urls)
    assert SECRET not in str(refused.value)


def test_check_redacts_the_password_of_each_replica_up_or_down(
    topology: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    primary, replica = topology
    up = replica.replace("postgres@", f"postgres:{SECRET}@")
    down = f"postgresql://postgres:{SECRET}@127.0.0.1:9/nothing"
    monkeypatch.setenv("DATABASE_URL", primary)
    monkeypatch.setenv("SHOPDB_REPLICA_URLS", f"{up} {down}")
    monkeypatch.delenv("SHOPDB_BACKEND", raising=False)
    for args in (["check", "--json"], ["check"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        assert SECRET not in result.output
        assert result.output.count("postgres:***@") >= 2


BAD_TOKENS: list[Any] = [
    b"0/16B3748",
    16,
    1.5,
    True,
    "",
    "0/",
    "/1",
    "0/1/2",
    "0/1 ",
    " 0/1",
    "0/1\n",
    "0/1\x00",
    "-0/1",
    "0x0/1",
    "G/1",
    "0/123456789",
    "\u0661/\u0661",  # Arabic-Indic digits
    "x" * 1_000_000,
]


async def test_malformed_tokens_are_invalid_input_before_anything_is_read(
    shop: Callable[..., AsyncContainer],
) -> None:
    container = shop()
    catalog = container.catalog()
    lamp = await catalog.create_product("Lamp", "1.00", inventory_count=1)
    routes = router(container)
    routes.reset_stats()
    for bad in BAD_TOKENS:
        with pytest.raises(InvalidInput) as refused, reading_after(bad):
            await catalog.get_product(lamp.id)
        assert len(str(refused.value)) < 200
        assert "xxxx" not in str(refused.value)
    assert routes.stats() == {"primary": 0, "shopdb-replica-1": 0}


async def test_a_token_from_the_future_reads_the_primary_after_the_wait_and_ends_with_its_block(
    shop: Callable[..., AsyncContainer],
) -> None:
    container = shop(replica_wait_ms=50)
    catalog = container.catalog()
    lamp = await catalog.create_product("Lamp", "1.00", inventory_count=1)
    mine = causal_token()
    routes = router(container)
    if True:  # ASYNC
        await asyncio.sleep(0.3)
    else:
        time.sleep(0.3)
    routes.reset_stats()
    began = time.perf_counter()
    with reading_after("FFFFFFFF/FFFFFFFF"):
        assert (await catalog.get_product(lamp.id)).name == "Lamp"
    took = time.perf_counter() - began
    assert routes.stats() == {"primary": 1, "shopdb-replica-1": 0}
    assert took < 0.5
    assert causal_token() == mine
    await catalog.get_product(lamp.id)
    assert routes.stats()["shopdb-replica-1"] == 1


async def test_a_token_carried_as_a_string_to_another_thread_reads_the_write(
    shop: Callable[..., AsyncContainer],
) -> None:
    """The writer hands only the string to a reader thread (as to another process)."""
    container = shop()
    carts, accounts = container.carts(), container.accounts()
    user = await accounts.register("carrier", "carrier@example.com", "pw-long-enough-1")
    lamp = await container.catalog().create_product("Lamp", "1.00", inventory_count=100_000)
    routes = router(container)
    routes.reset_stats()
    stale = 0
    for _ in range(200):
        added = await carts.add_to_cart(user.id, lamp.id, 1)
        token = causal_token()
        seen: list[Any] = []

        async def reader(token: str | None = token, seen: list[Any] = seen) -> None:
            with reading_after(token):
                seen.append(await carts.view_cart(user.id))

        if True:  # ASYNC
            # A task of its own, in an empty context: as a thread starts, with no token.
            await asyncio.create_task(reader(), context=contextvars.Context())
        else:
            thread = threading.Thread(target=reader)
            thread.start()
            thread.join()
        cart = seen[0]
        line = next((i for i in cart.items if i.id == added.id), None) if cart else None
        if line is None or line.quantity != added.quantity:
            stale += 1
    print(f"\ncarried tokens: {stale} stale of 200, by {routes.stats()}")
    assert stale == 0
    assert routes.stats()["shopdb-replica-1"] > 0


async def test_autocommit_writes_leave_a_token_that_the_next_read_waits_for(
    shop: Callable[..., AsyncContainer],
) -> None:
    container = shop()
    units = container.unit_of_work()
    stale = 0
    for n in range(300):
        async with units(autocommit=True) as uow:
            made = await uow.products.add(NewProduct(name=f"P{n}", price="1.00", inventory_count=1))
        async with units(read_only=True) as uow:
            try:
                await uow.products.get(made.id)
            except DomainError:
                stale += 1
    assert stale == 0
    assert router(container).stats()["shopdb-replica-1"] > 0


async def test_many_threads_checking_out_see_each_order_in_their_history(
    shop: Callable[..., AsyncContainer],
) -> None:
    container = shop()
    carts, orders, accounts = container.carts(), container.orders(), container.accounts()
    lamp = await container.catalog().create_product("Lamp", "1.00", inventory_count=100_000)
    users = [
        await accounts.register(f"buyer{n}", f"buyer{n}@example.com", "pw-long-enough-1")
        for n in range(6)
    ]
    stale = [0] * len(users)
    routes = router(container)
    routes.reset_stats()

    async def shopper(n: int) -> None:
        user = users[n].id
        for k in range(60):
            await carts.add_to_cart(user, lamp.id, 1)
            order = await carts.checkout(user, f"buyer{n}-{k}")
            history = await orders.order_history(user, limit=1)
            if not history.items or history.items[0].id != order.id:
                stale[n] += 1
            if (await orders.get_order(user, order.id)).id != order.id:
                stale[n] += 1

    if True:  # ASYNC
        # A task each, in an empty context of its own: as threads start, with no token.
        await asyncio.gather(
            *(
                asyncio.create_task(shopper(n), context=contextvars.Context())
                for n in range(len(users))
            )
        )
    else:
        threads = [threading.Thread(target=shopper, args=(n,)) for n in range(len(users))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    print(f"\n6 threads: stale {stale}, by {routes.stats()}")
    assert sum(stale) == 0
    assert routes.stats()["shopdb-replica-1"] > 0


async def test_a_replica_frozen_mid_read_is_bounded_by_the_statement_deadline_then_skipped(
    shop: Callable[..., AsyncContainer],
) -> None:
    container = shop(statement_timeout_ms=1000, deadline_margin_ms=500)
    catalog = container.catalog()
    lamp = await catalog.create_product("Lamp", "1.00", inventory_count=1)
    units = container.unit_of_work()
    if True:  # ASYNC
        await asyncio.sleep(0.3)
    else:
        time.sleep(0.3)
    times: dict[str, float] = {}

    async def reads() -> None:
        async with units(read_only=True) as uow:
            await uow.products.get(lamp.id)
            assert router(container).stats()["shopdb-replica-1"] == 1
            with frozen():
                began = time.perf_counter()
                with pytest.raises(StorageUnavailable):
                    await uow.products.get(lamp.id)
                times["read"] = time.perf_counter() - began
                began = time.perf_counter()
                with pytest.raises(StorageUnavailable):
                    await uow.products.get(lamp.id)
                times["again"] = time.perf_counter() - began
                began = time.perf_counter()
        times["exit"] = time.perf_counter() - began

    await fresh(reads)
    with frozen():
        began = time.perf_counter()
        for _ in range(5):
            assert (await fresh(catalog.get_product, lamp.id)).name == "Lamp"
        times["next five"] = time.perf_counter() - began
    print(f"\nfrozen mid-read: {times}")
    assert times["read"] < 1.0 + 0.5 + 0.2 + 0.3
    assert times["again"] < 0.5
    assert times["exit"] < 0.5
    assert times["next five"] < 0.5 + 0.2 + 0.3


async def test_a_restarted_container_reads_from_the_replica_again_and_leaks_no_threads(
    shop: Callable[..., AsyncContainer],
) -> None:
    container = shop()
    lamp = await container.catalog().create_product("Lamp", "1.00", inventory_count=1)
    if True:  # ASYNC
        await asyncio.sleep(0.3)
    else:
        time.sleep(0.3)
    counts = []
    for _ in range(3):
        await container.shutdown_resources()
        container.init_resources()
        catalog = container.catalog()
        for _ in range(20):
            assert (await fresh(catalog.get_product, lamp.id)).name == "Lamp"
        counts.append(router(container).stats()["shopdb-replica-1"])
        counts.append(len(threading.enumerate()))
    print(f"\nreplica reads and threads after each restart: {counts}")
    assert min(counts[0::2]) > 0
    assert counts[1] == counts[3] == counts[5]


async def test_reads_are_served_within_the_deadline_by_the_primary_while_check_fails_on_the_replica(
    shop: Callable[..., AsyncContainer],
) -> None:
    """A replica URL whose host does not answer at all (a port nobody listens on)."""
    container = shop(replica_urls="postgresql://postgres@127.0.0.1:9/nothing")
    catalog = container.catalog()
    lamp = await catalog.create_product("Lamp", "1.00", inventory_count=1)
    began = time.perf_counter()
    for _ in range(10):
        assert (await fresh(catalog.get_product, lamp.id)).name == "Lamp"
    assert time.perf_counter() - began < 0.5 + 0.2 + 0.5
    assert router(container).stats()["primary"] == 10


async def test_every_service_write_leaves_a_token_that_the_next_read_waits_for(
    shop: Callable[..., AsyncContainer], topology: tuple[str, str]
) -> None:
    """With the replica's replay paused before each write, the read after it (same context)
    must go to the primary and see the write."""
    _, replica = topology
    container = shop(replica_max_lag_ms=60_000)
    accounts, catalog = container.accounts(), container.catalog()
    carts, orders = container.carts(), container.orders()
    user = await accounts.register("writer", "writer@example.com", "pw-long-enough-1")
    lamp = await catalog.create_product("Lamp", "1.00", inventory_count=100)
    desk = await catalog.create_product("Desk", "1.00", inventory_count=100)
    made: dict[str, Any] = {}  # what each write returned, by its name

    # Each use case that writes: the write, the read after it, and what the read must show.
    steps: list[
        tuple[str, AsyncCallable[[], object], AsyncCallable[[], Any], Callable[[Any], bool]]
    ] = [
        (
            "register",
            lambda: accounts.register("second", "second@example.com", "pw-long-enough-1"),
            lambda: accounts.authenticate("second", "pw-long-enough-1"),
            lambda second: second.id > 0,
        ),
        (
            "change_email",
            lambda: accounts.change_email(user.id, "moved@example.com"),
            lambda: accounts.authenticate("moved@example.com", "pw-long-enough-1"),
            lambda moved: moved.id > 0,
        ),
        (
            "create_product",
            lambda: catalog.create_product("Chair", "1.00"),
            lambda: catalog.get_product(made["create_product"].id),
            lambda chair: chair.name == "Chair",
        ),
        (
            "import_products",
            lambda: catalog.import_products([{"name": "Imported", "price": "2.00"}]),
            lambda: catalog.search("Imported"),
            lambda found: len(found.items) == 1,
        ),
        (
            "update_product",
            lambda: catalog.update_product(lamp.id, lamp.version, name="Lamp two"),
            lambda: catalog.get_product(lamp.id),
            lambda product: product.name == "Lamp two",
        ),
        (
            "restock",
            lambda: catalog.restock(desk.id, 5),
            lambda: catalog.get_product(desk.id),
            lambda product: product.inventory_count == 105,
        ),
        (
            "add_to_cart",
            lambda: carts.add_to_cart(user.id, lamp.id, 1),
            lambda: carts.view_cart(user.id),
            lambda cart: len(getattr(cart, "items", ())) == 1,
        ),
        (
            "change_quantity",
            lambda: carts.change_quantity(user.id, lamp.id, 3),
            lambda: carts.view_cart(user.id),
            lambda cart: [i.quantity for i in getattr(cart, "items", ())] == [3],
        ),
        (
            "checkout",
            lambda: carts.checkout(user.id, "writer-1"),
            lambda: orders.get_order(user.id, made["checkout"].id),
            lambda order: order.id == made["checkout"].id,
        ),
        (
            "delete_product",
            lambda: catalog.delete_product(desk.id),
            lambda: _refused(lambda: catalog.get_product(desk.id)),
            lambda refused: refused,
        ),
        (
            "delete_user",
            lambda: accounts.delete_user(user.id),
            lambda: _refused(lambda: accounts.authenticate("writer", "pw-long-enough-1")),
            lambda refused: refused,
        ),
    ]
    routes = router(container)
    if True:  # ASYNC
        await asyncio.sleep(0.3)
    else:
        time.sleep(0.3)
    for name, write, read, check in steps:

        async def step(
            name: str = name,
            write: AsyncCallable[[], object] = write,
            read: AsyncCallable[[], Any] = read,
            check: Callable[[Any], bool] = check,
        ) -> None:
            with psycopg.connect(replica, autocommit=True) as conn:
                conn.execute("SELECT pg_wal_replay_pause()")
                try:
                    made[name] = await write()
                    routes.reset_stats()
                    if not check(await read()):
                        raise AssertionError("stale read")
                finally:
                    conn.execute("SELECT pg_wal_replay_resume()")

        await fresh(step)
        assert routes.stats()["shopdb-replica-1"] == 0, name


async def _refused(call: AsyncCallable[[], object]) -> bool:
    try:
        await call()
    except DomainError:
        return True
    return False


if True:  # ASYNC
    # Nothing of the async side in these: the settings, `shopdb check`. They are the sync
    # module's only.
    del test_bad_replica_urls_are_refused_without_echoing_the_password
    del test_check_redacts_the_password_of_each_replica_up_or_down
