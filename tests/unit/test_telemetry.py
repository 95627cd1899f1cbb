"""Use-case records, retry warnings and the optional OpenTelemetry extra, on the fakes."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

import pytest

from adapters.memory import MemoryUnitOfWorkFactory
from adapters.telemetry import Telemetry
from domain.errors import InvalidInput, TransientConflict
from services import CatalogService
from services.retry import retrying
from shopdb.container import Container
from shopdb.settings import Settings


def test_one_debug_record_per_use_case(
    uow: MemoryUnitOfWorkFactory, caplog: pytest.LogCaptureFixture
) -> None:
    catalog = CatalogService(uow, Telemetry())
    caplog.set_level(logging.DEBUG, logger="shopdb")
    lamp = catalog.create_product("Lamp", "19.99")
    with pytest.raises(InvalidInput):
        catalog.restock(lamp.id, -1)
    records = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
    assert [(name, level) for name, level, _ in records] == [
        ("shopdb.services", logging.DEBUG),
        ("shopdb.services", logging.DEBUG),
    ]
    assert records[0][2].startswith("use case CatalogService.create_product: ok, ")
    assert records[1][2].startswith("use case CatalogService.restock: InvalidInput, ")
    assert "ms" in records[0][2]


def test_no_record_and_no_observation_when_debug_is_off(
    uow: MemoryUnitOfWorkFactory, caplog: pytest.LogCaptureFixture
) -> None:
    telemetry = Telemetry()
    caplog.set_level(logging.INFO, logger="shopdb")
    assert telemetry.use_case("CatalogService.create_product") is None
    assert not telemetry.observing()
    CatalogService(uow, telemetry).create_product("Lamp", "19.99")
    assert caplog.records == []


def test_each_retry_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []

    def work() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise TransientConflict("deadlock detected; rows of user 42")
        return "done"

    caplog.set_level(logging.WARNING, logger="shopdb")
    assert retrying(work) == "done"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.name for r in warnings] == ["shopdb.services"] * 2
    assert warnings[0].getMessage() == "retrying after TransientConflict (attempt 1 of 3 failed)"
    assert "42" not in caplog.text  # the error's class, not its message


def test_without_the_extra_enabling_opentelemetry_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "adapters.otel", None)  # import fails as if not installed
    with pytest.raises(RuntimeError, match=r"install shopdb\[otel\]"):
        Telemetry.with_opentelemetry()
    container = Container(settings=Settings(backend="memory", opentelemetry=True))
    with pytest.raises(RuntimeError, match="opentelemetry-api is not installed"):
        container.catalog()


def test_the_core_never_imports_opentelemetry_unless_enabled() -> None:
    code = textwrap.dedent(
        """
        import logging, sys
        # FastAPI (a dev dependency, for the example app) imports OpenTelemetry by itself, and
        # dependency_injector imports FastAPI when it is installed: left out, to see shopdb's own.
        sys.modules["fastapi"] = None
        logging.basicConfig(level=logging.DEBUG)
        from shopdb.container import Container
        from shopdb.settings import Settings
        container = Container(settings=Settings(backend="memory"))
        container.catalog().create_product("Lamp", "19.99")
        assert not [m for m in sys.modules if m.startswith("opentelemetry")], "imported"
        container = Container(settings=Settings(backend="memory", opentelemetry=True))
        container.catalog().create_product("Desk", "9.99")
        assert "opentelemetry.trace" in sys.modules
        """
    )
    result = subprocess.run(  # noqa: S603 - our interpreter, our code
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "use case CatalogService.create_product: ok" in result.stderr


def test_settings_reach_the_telemetry() -> None:
    container = Container(settings=Settings(backend="memory", slow_statement_ms=1234))
    telemetry = container.telemetry()
    assert telemetry.slow == 1.234
    assert telemetry.otel is None
    assert Container(
        settings=Settings(backend="memory", slow_statement_ms=0)
    ).telemetry().slow == float("inf")
