"""Unit-test fixtures: services over the in-memory adapter, with the fast test-only hasher."""

from __future__ import annotations

import pytest

from adapters.memory import MemoryUnitOfWorkFactory
from services import AccountService, CartService, CatalogService
from shopdb.testing import InsecureTestHasher


@pytest.fixture
def uow() -> MemoryUnitOfWorkFactory:
    return MemoryUnitOfWorkFactory()


@pytest.fixture
def hasher() -> InsecureTestHasher:
    return InsecureTestHasher()


@pytest.fixture
def accounts(uow: MemoryUnitOfWorkFactory, hasher: InsecureTestHasher) -> AccountService:
    return AccountService(uow, hasher)


@pytest.fixture
def catalog(uow: MemoryUnitOfWorkFactory) -> CatalogService:
    return CatalogService(uow)


@pytest.fixture
def carts(uow: MemoryUnitOfWorkFactory) -> CartService:
    return CartService(uow)
