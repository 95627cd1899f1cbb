"""Unit-test fixtures: services over the in-memory adapter, with a fast real password hasher."""

from __future__ import annotations

import pytest

from adapters.hashing import Argon2PasswordHasher
from adapters.memory import MemoryUnitOfWorkFactory
from services import AccountService, CartService, CatalogService


@pytest.fixture
def uow() -> MemoryUnitOfWorkFactory:
    return MemoryUnitOfWorkFactory()


@pytest.fixture
def hasher() -> Argon2PasswordHasher:
    # Real Argon2id, with parameters cheap enough for tests.
    return Argon2PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture
def accounts(uow: MemoryUnitOfWorkFactory, hasher: Argon2PasswordHasher) -> AccountService:
    return AccountService(uow, hasher)


@pytest.fixture
def catalog(uow: MemoryUnitOfWorkFactory) -> CatalogService:
    return CatalogService(uow)


@pytest.fixture
def carts(uow: MemoryUnitOfWorkFactory) -> CartService:
    return CartService(uow)
