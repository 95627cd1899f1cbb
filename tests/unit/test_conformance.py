"""Every adapter class declares the port it implements, so `mypy src` fails when a port method is
missing from it or has another signature: shown here on a small port, through mypy's API."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

import adapters.hashing
import adapters.memory.carts
import adapters.memory.orders
import adapters.memory.products
import adapters.memory.unit_of_work
import adapters.memory.users
import adapters.postgres.carts
import adapters.postgres.orders
import adapters.postgres.products
import adapters.postgres.unit_of_work
import adapters.postgres.users
import adapters.telemetry
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

# Module -> (the class, its port) as the module's conformance line names them.
DECLARED: dict[ModuleType, tuple[tuple[str, str, str], ...]] = {
    adapters.postgres.users: (("_conforms", "PostgresUserRepository", "UserRepository"),),
    adapters.postgres.products: (("_conforms", "PostgresProductRepository", "ProductRepository"),),
    adapters.postgres.carts: (("_conforms", "PostgresCartRepository", "CartRepository"),),
    adapters.postgres.orders: (("_conforms", "PostgresOrderRepository", "OrderRepository"),),
    adapters.postgres.unit_of_work: (
        ("_conforms", "PostgresUnitOfWork", "UnitOfWork"),
        ("_makes", "PostgresUnitOfWorkFactory", "UnitOfWorkFactory"),
    ),
    adapters.memory.users: (("_conforms", "MemoryUserRepository", "UserRepository"),),
    adapters.memory.products: (("_conforms", "MemoryProductRepository", "ProductRepository"),),
    adapters.memory.carts: (("_conforms", "MemoryCartRepository", "CartRepository"),),
    adapters.memory.orders: (("_conforms", "MemoryOrderRepository", "OrderRepository"),),
    adapters.memory.unit_of_work: (
        ("_conforms", "MemoryUnitOfWork", "UnitOfWork"),
        ("_makes", "MemoryUnitOfWorkFactory", "UnitOfWorkFactory"),
    ),
    adapters.hashing: (
        ("_conforms", "Argon2PasswordHasher", "PasswordHasher"),
        ("_insecure_conforms", "InsecureTestHasher", "PasswordHasher"),
    ),
    adapters.telemetry: (("_conforms", "Telemetry", "Observer"),),
}


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


@pytest.mark.parametrize("module", list(DECLARED), ids=lambda m: m.__name__)
def test_every_adapter_class_declares_its_port(module: ModuleType) -> None:
    for variable, adapter, port in DECLARED[module]:
        assert vars(module)[variable] is vars(module)[adapter]
        assert module.__annotations__[variable] == f"type[{port}]"
