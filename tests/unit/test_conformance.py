"""Every adapter class declares the port it implements, so `mypy src` fails when a port method is
missing from it or has another signature: shown here on a small port, through mypy's API."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

import pytest

import adapters
import ports
from ports.unit_of_work import aggregates
from ports.unit_of_work_async import aggregates as async_aggregates
from tests.typecheck import strict_mypy

SNIPPET = """
from ports.hashing import PasswordHasher


class Complete:
    def hash(self, password: str) -> str:
        return password

    def verify(self, password_hash: str, password: str) -> bool:
        return password_hash == password

    def needs_rehash(self, password_hash: str) -> bool:
        return False


class MissingAMethod:
    def hash(self, password: str) -> str:
        return password

    def verify(self, password_hash: str, password: str) -> bool:
        return password_hash == password


class AnotherSignature(Complete):
    def needs_rehash(self, password_hash: bytes) -> bool:  # type: ignore[override]
        return False


_complete: type[PasswordHasher] = Complete
_missing: type[PasswordHasher] = MissingAMethod
_other: type[PasswordHasher] = AnotherSignature
"""


def modules(package: ModuleType) -> list[ModuleType]:
    """Every module of `package`, imported."""
    return [
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")
    ]


def is_protocol(cls: type) -> bool:
    return bool(getattr(cls, "_is_protocol", False))


def members(cls: type) -> set[str]:
    return {name for klass in cls.__mro__[:-1] for name in vars(klass) if not name.startswith("_")}


# Every port: the Protocol classes of the ports package.
PORTS = {
    cls.__name__: cls
    for module in modules(ports)
    for cls in vars(module).values()
    if isinstance(cls, type) and cls.__module__ == module.__name__ and is_protocol(cls)
}
ADAPTER_MODULES = modules(adapters)


def implementations(module: ModuleType) -> list[tuple[type, str]]:
    """The classes defined in `module` that have every member of a port, with the port."""
    return [
        (cls, name)
        for cls in vars(module).values()
        if isinstance(cls, type) and cls.__module__ == module.__name__ and not is_protocol(cls)
        for name, port in PORTS.items()
        if members(port) and members(port) <= members(cls) and _side(name) == _side(cls.__name__)
    ]


def _side(name: str) -> bool:
    """Whether a class or port is of the async side: sync classes meet only sync ports."""
    return name.startswith("Async")


def declarations(module: ModuleType) -> set[tuple[str, str]]:
    """(class, port) for each conformance line of `module`: `_x: type[Port] = Class`."""
    found = set()
    for variable, annotation in vars(module).get("__annotations__", {}).items():
        if isinstance(annotation, str) and annotation.startswith("type[") and variable[0] == "_":
            value = vars(module).get(variable)
            if isinstance(value, type):
                found.add((value.__name__, annotation.removeprefix("type[").removesuffix("]")))
    return found


def test_a_missing_or_changed_method_fails_mypy(tmp_path: Path) -> None:
    (tmp_path / "adapter.py").write_text(SNIPPET)
    stdout, stderr = strict_mypy(tmp_path / "cache", tmp_path / "adapter.py")
    assert stderr == ""
    # Complete passes; each of the others fails at its conformance line.
    errors = [line.split(": ", 1)[1] for line in stdout.splitlines() if ": error: " in line]
    assert errors == [
        'error: Incompatible types in assignment (expression has type "type[MissingAMethod]",'
        ' variable has type "type[PasswordHasher]")  [assignment]',
        'error: Incompatible types in assignment (expression has type "type[AnotherSignature]",'
        ' variable has type "type[PasswordHasher]")  [assignment]',
    ], stdout


def test_the_ports_and_their_implementations_are_found() -> None:
    # The walk sees every port, and each repository port has an implementation in each adapter.
    assert {"UnitOfWork", "UnitOfWorkFactory", "PasswordHasher", "Observer"} <= PORTS.keys()
    found = {(cls.__name__, port) for m in ADAPTER_MODULES for cls, port in implementations(m)}
    for port in aggregates().values():
        assert {adapter for adapter, name in found if name == port.__name__} >= {
            f"Postgres{port.__name__}",
            f"Memory{port.__name__}",
        }
    for port in async_aggregates().values():
        assert {adapter for adapter, name in found if name == port.__name__} >= {
            f"AsyncPostgres{port.__name__.removeprefix('Async')}",
            f"AsyncMemory{port.__name__.removeprefix('Async')}",
        }


@pytest.mark.parametrize("module", ADAPTER_MODULES, ids=lambda m: m.__name__)
def test_every_adapter_class_declares_its_port(module: ModuleType) -> None:
    # The conformance line is what makes mypy compare the class with its port.
    missing = {(cls.__name__, port) for cls, port in implementations(module)}
    missing -= declarations(module)
    assert not missing, f"add `_conforms: type[Port] = Class` to {module.__name__}: {missing}"
