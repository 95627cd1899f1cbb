"""The steps of adding an aggregate that no other check sees left out: its port reached through
the unit of work, a service that uses it, that service in the container, and a contract module.
(The other steps fail elsewhere: docs/adding-an-aggregate.md names the check of each.)"""

from __future__ import annotations

import ast
from pathlib import Path

from dependency_injector import providers

import services
from ports.unit_of_work import aggregates
from ports.unit_of_work_async import aggregates as async_aggregates
from shopdb.container import Container
from tests.house import repository_ports, service_classes

CONTRACT = Path(__file__).parents[1] / "contract"


def attributes_named(source: str) -> set[str]:
    return {node.attr for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Attribute)}


def test_every_repository_port_is_reached_through_the_unit_of_work() -> None:
    # Each side's unit of work reaches each side's ports (the async one is the source of both).
    assert repository_ports() == set(aggregates().values()) | set(async_aggregates().values())
    assert {f"Async{port.__name__}" for port in aggregates().values()} == {
        port.__name__ for port in async_aggregates().values()
    }


def test_every_aggregate_is_used_by_a_service() -> None:
    named: set[str] = set()
    for path in Path(next(iter(services.__path__))).glob("*.py"):
        named |= attributes_named(path.read_text())
    unused = set(aggregates()) - named
    assert not unused, f"no service reaches {sorted(unused)} (work.<aggregate>)"


def test_every_service_has_a_provider_in_the_container() -> None:
    provided = {
        provider.provides
        for provider in Container.providers.values()
        if isinstance(provider, providers.Factory)
    }
    missing = {cls.__name__ for cls in service_classes()} - {
        getattr(cls, "__name__", "") for cls in provided
    }
    assert not missing, f"add a providers.Factory to shopdb.container.Container: {missing}"


def test_every_aggregate_has_a_contract_module() -> None:
    # The async module is the source; the sync one is generated from it.
    missing = {
        name
        for name in aggregates()
        for module in (f"test_{name}.py", f"test_{name}_async.py")
        if not (CONTRACT / module).exists()
    }
    assert not missing, f"tests/contract/test_<aggregate>.py for {sorted(missing)}"


def test_the_checks_see_what_they_look_for() -> None:
    # Each check above compares against something found: none of them passes on an empty walk.
    assert len(repository_ports()) == 2 * len(aggregates()) >= 8
    assert len(service_classes()) >= 8
    assert {"carts", "orders"} <= attributes_named("work.carts.get(1)\nuow.orders")
