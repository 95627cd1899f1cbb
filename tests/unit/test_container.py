"""The container wires services to the configured adapter; tests swap providers per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dependency_injector import providers

from adapters.hashing import Argon2PasswordHasher
from adapters.memory import MemoryUnitOfWorkFactory
from adapters.postgres import PostgresUnitOfWorkFactory
from adapters.postgres.pool import LifoConnectionPool
from shopdb.container import Container
from shopdb.settings import Settings, load_settings

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
    cart = container.carts().add_to_cart(user.id, lamp.id, 2)
    assert cart.total == 2 * lamp.price
    fake = container.unit_of_work()
    assert isinstance(fake, MemoryUnitOfWorkFactory)
    with fake(read_only=True) as work:
        assert work.users.get(user.id) == user


def test_services_are_new_each_time_and_share_the_unit_of_work(container: Container) -> None:
    assert container.carts() is not container.carts()
    assert container.unit_of_work() is container.unit_of_work()


def test_nothing_connects_until_the_pool_is_asked_for() -> None:
    container = Container(settings=Settings(DATABASE_URL=UNREACHABLE))
    factory = container.unit_of_work()  # builds the factory; the pool opens in the background
    assert isinstance(factory, PostgresUnitOfWorkFactory)
    container.shutdown_resources()
    assert factory.pool.closed


def test_backend_memory_selects_the_fake() -> None:
    container = Container(settings=Settings(backend="memory"))
    assert isinstance(container.unit_of_work(), MemoryUnitOfWorkFactory)
    assert container.unit_of_work() is container.unit_of_work()


@pytest.mark.parametrize(("value", "lifo"), [(None, True), ("false", False), ("true", True)])
def test_pool_order_follows_the_setting(
    monkeypatch: pytest.MonkeyPatch, value: str | None, lifo: bool
) -> None:
    if value is not None:
        monkeypatch.setenv("SHOPDB_POOL_LIFO", value)
    monkeypatch.setenv("DATABASE_URL", UNREACHABLE)
    container = Container(settings=load_settings())
    assert container.pool_config().lifo is lifo
    factory = container.unit_of_work()
    assert isinstance(factory, PostgresUnitOfWorkFactory)
    assert isinstance(factory.pool, LifoConnectionPool) is lifo
    container.shutdown_resources()
