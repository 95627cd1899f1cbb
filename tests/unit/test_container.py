"""The container wires services to the configured adapter; tests swap providers per test."""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator

import pytest
from dependency_injector import providers

from adapters.hashing import Argon2PasswordHasher
from adapters.memory import MemoryUnitOfWork, MemoryUnitOfWorkFactory
from adapters.postgres.pool import LifoConnectionPool
from shopdb.container import Container
from shopdb.settings import Settings, SettingsError, load_settings

UNREACHABLE = "postgresql://shop:pw@127.0.0.1:1/shop"


@pytest.fixture
def container() -> Iterator[Container]:
    """The production container, with the unit of work swapped for the in-memory fake and a
    cheap hasher: how a shop's own unit tests run its services without a database."""
    container = Container(settings=Settings(DATABASE_URL=UNREACHABLE))
    fake = MemoryUnitOfWorkFactory()
    with (
        container.unit_of_work.override(providers.Object(fake)),
        container.password_hasher.override(
            providers.Object(Argon2PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        ),
    ):
        yield container
    container.shutdown_resources()


def test_overridden_services_run_on_the_fake(container: Container) -> None:
    user = container.accounts().register("alice", "alice@example.com", "password123")
    lamp = container.catalog().create_product("Lamp", "9.99", inventory_count=2)
    line = container.carts().add_to_cart(user.id, lamp.id, 2)
    assert line.line_total == 2 * lamp.price
    fake = container.unit_of_work()
    assert isinstance(fake, MemoryUnitOfWorkFactory)
    with fake(read_only=True) as work:
        assert work.users.get(user.id) == user


def test_services_are_new_each_time_and_share_the_unit_of_work(container: Container) -> None:
    assert container.carts() is not container.carts()
    assert container.unit_of_work() is container.unit_of_work()


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A loopback port that records connection attempts and never answers them."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server


def _attempted(server: socket.socket, wait: float) -> bool:
    readable, _, _ = select.select([server], [], [], wait)
    return bool(readable)


def test_building_the_container_and_its_services_connects_nowhere(
    listener: socket.socket,
) -> None:
    port = listener.getsockname()[1]
    settings = Settings(DATABASE_URL=f"postgresql://shop:pw@127.0.0.1:{port}/shop")
    container = Container(settings=settings)
    container.accounts(), container.catalog(), container.carts(), container.unit_of_work()
    assert not _attempted(listener, 0.5)
    # The same listener sees the pool's first attempt, once something asks for the pool.
    container.pool()
    assert _attempted(listener, 10)
    listener.close()  # refuse the pool's attempts, so its close() need not wait for them
    container.shutdown_resources()


def test_backend_memory_selects_the_fake() -> None:
    container = Container(settings=Settings(backend="memory"))
    units = container.unit_of_work()
    assert units is container.unit_of_work()
    with units() as work:
        assert isinstance(work, MemoryUnitOfWork)


def test_memory_backend_starts_no_pool_and_no_server() -> None:
    # Without DATABASE_URL and SHOPDB_EMBEDDED, asking for a URL raises: nothing may ask.
    container = Container(settings=Settings(backend="memory", DATABASE_URL=None))
    for _ in range(3):
        container.init_resources()
        assert container.pool() is None
        lamp = container.catalog().create_product("Lamp", "9.99", inventory_count=2)
        container.shutdown_resources()
    assert container.catalog().get_product(lamp.id) == lamp  # the fake's data outlives restarts


def test_without_database_url_an_application_is_told_so() -> None:
    container = Container(settings=Settings(DATABASE_URL=None))
    carts = container.carts()  # building still connects nowhere and cannot fail
    with pytest.raises(SettingsError, match=r"DATABASE_URL is not set.*SHOPDB_EMBEDDED=true"):
        container.init_resources()
    with pytest.raises(SettingsError, match="DATABASE_URL is not set"):
        carts.view_cart(1)


@pytest.mark.parametrize(("value", "lifo"), [(None, True), ("false", False), ("true", True)])
def test_pool_order_follows_the_setting(
    monkeypatch: pytest.MonkeyPatch, value: str | None, lifo: bool
) -> None:
    if value is not None:
        monkeypatch.setenv("SHOPDB_POOL_LIFO", value)
    monkeypatch.setenv("DATABASE_URL", UNREACHABLE)
    container = Container(settings=load_settings())
    assert container.pool_config().lifo is lifo
    pool = container.pool()
    assert pool is not None
    assert isinstance(pool, LifoConnectionPool) is lifo
    container.shutdown_resources()
    assert pool.closed
