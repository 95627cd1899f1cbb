"""After `shutdown_resources()`, a service taken before it refuses work, on every backend: a
test client that keeps a stale service fails on the fakes as it would in production."""

from __future__ import annotations

import pytest

from domain.errors import StorageUnavailable
from shopdb.container import Container
from shopdb.settings import Settings


@pytest.mark.parametrize("backend", ["memory", "postgres"])
def test_a_service_taken_before_a_shutdown_refuses_work_on_every_backend(
    backend: str, request: pytest.FixtureRequest
) -> None:
    """After shutdown_resources() and init_resources(), a service taken before refuses work
    with StorageUnavailable on both backends; a service taken again works."""
    if backend == "memory":
        settings = Settings(backend="memory")
    else:
        settings = Settings(DATABASE_URL=request.getfixturevalue("clean_database"), pool_min_size=1)
    container = Container(settings=settings)
    container.init_resources()
    stale = container.catalog()
    lamp = stale.create_product("Lamp", "9.99")
    container.shutdown_resources()
    container.init_resources()
    try:
        with pytest.raises(StorageUnavailable):
            stale.get_product(lamp.id)
    finally:
        container.shutdown_resources()
