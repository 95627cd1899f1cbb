"""The in-memory unit of work is transactional: isolated until commit, gone on rollback."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.memory import MemoryDatabase, MemoryUnitOfWorkFactory
from domain.errors import ProductNotFound, ReadOnlyViolation, StorageUnavailable
from domain.model import NewProduct
from tests.threads import run_all


def _lamp(inventory: int = 5) -> NewProduct:
    return NewProduct(name="Lamp", price=Decimal("9.99"), inventory_count=inventory)


def test_leaving_without_commit_rolls_back(uow: MemoryUnitOfWorkFactory) -> None:
    with uow() as work:
        product = work.products.add(_lamp())
    with uow() as work, pytest.raises(ProductNotFound):
        work.products.get(product.id)


def test_rollback_discards_and_commit_keeps(uow: MemoryUnitOfWorkFactory) -> None:
    with uow() as work:
        discarded = work.products.add(_lamp())
        work.rollback()
        kept = work.products.add(_lamp())
        work.commit()
    with uow(read_only=True) as work:
        assert work.products.get_many([discarded.id, kept.id]) == {kept.id: kept}


def test_an_exception_rolls_back(uow: MemoryUnitOfWorkFactory) -> None:
    def fail_midway() -> None:
        with uow() as work:
            work.products.add(_lamp())
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail_midway()
    with uow() as work:
        assert work.products.get_many([1]) == {}


def test_uncommitted_changes_are_invisible_to_others(uow: MemoryUnitOfWorkFactory) -> None:
    with uow() as setup:
        product = setup.products.add(_lamp(5))
        setup.commit()
    with uow() as writer, uow(read_only=True) as reader:
        writer.products.reserve(product.id, 2)
        assert writer.products.get(product.id).inventory_count == 3
        assert reader.products.get(product.id).inventory_count == 5
        writer.commit()
        assert reader.products.get(product.id).inventory_count == 3


def test_ids_are_not_reused_after_rollback(uow: MemoryUnitOfWorkFactory) -> None:
    with uow() as work:
        first = work.products.add(_lamp())
    with uow() as work:
        second = work.products.add(_lamp())
    assert second.id == first.id + 1


def test_read_only_refuses_writes(uow: MemoryUnitOfWorkFactory) -> None:
    with uow(read_only=True) as work, pytest.raises(ReadOnlyViolation):
        work.products.add(_lamp())


def test_a_second_writer_waits_and_times_out() -> None:
    factory = MemoryUnitOfWorkFactory(MemoryDatabase(lock_timeout=0.05))
    with factory() as first, factory() as second:
        first.products.add(_lamp())
        with pytest.raises(StorageUnavailable, match="timed out"):
            second.products.add(_lamp())


def test_concurrent_reservations_never_oversell(uow: MemoryUnitOfWorkFactory) -> None:
    with uow() as setup:
        product = setup.products.add(_lamp(100))
        setup.commit()
    sold = []

    def buyer() -> None:
        for _ in range(30):
            with uow() as work:
                try:
                    work.products.reserve(product.id, 1)
                except Exception:
                    return
                work.commit()
                sold.append(1)

    run_all([buyer] * 8)
    with uow(read_only=True) as work:
        assert work.products.get(product.id).inventory_count == 0
    assert len(sold) == 100


def test_reset_empties_the_tables_and_restarts_ids(uow: MemoryUnitOfWorkFactory) -> None:
    with uow() as work:
        first = work.products.add(_lamp())
        work.products.add(_lamp())
        work.commit()
    uow.database.reset()
    with uow() as work:
        assert work.products.get_many([1, 2]) == {}
        again = work.products.add(_lamp())
    assert again.id == first.id == 1
