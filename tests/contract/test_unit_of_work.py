# Generated from test_unit_of_work_async.py (tools/generate_sync.py): edit that instead.
"""Contract of the unit of work: isolation, commit, rollback, read-only, aborted writes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import (
    ProductNotFound,
    ReadOnlyViolation,
    RollbackRequired,
    UsernameTaken,
    UserNotFound,
)
from domain.model import NewProduct, NewUser
from ports.unit_of_work import UnitOfWorkFactory
from tests.contract.helpers import add_product, add_user


def test_nothing_is_kept_without_commit(uow: UnitOfWorkFactory) -> None:
    with uow() as work:
        work.users.add(NewUser(username="alice", email="a@example.com", password_hash="h"))
    add_user(uow, "alice")  # the name was never taken


def test_rollback_then_continue(uow: UnitOfWorkFactory) -> None:
    with uow() as work:
        first = work.users.add(NewUser(username="alice", email="a@example.com", password_hash="h"))
        work.rollback()
        second = work.users.add(NewUser(username="alice", email="a@example.com", password_hash="h"))
        work.commit()
    assert second.id == first.id + 1
    with uow(read_only=True) as work:
        assert work.users.get_by_username("alice") == second


def test_uncommitted_work_is_invisible_to_others(uow: UnitOfWorkFactory) -> None:
    lamp = add_product(uow, inventory=5)
    with uow() as writer:
        writer.products.reserve(lamp.id, 2)
        with uow(read_only=True) as reader:
            assert reader.products.get(lamp.id).inventory_count == 5
        writer.commit()
    with uow(read_only=True) as reader:
        assert reader.products.get(lamp.id).inventory_count == 3


def test_a_failed_write_rolls_the_transaction_back(uow: UnitOfWorkFactory) -> None:
    add_user(uow, "alice")
    with uow() as work:
        added = work.users.add(NewUser(username="bob", email="b@example.com", password_hash="h"))
        with pytest.raises(UsernameTaken):
            work.users.add(NewUser(username="ALICE", email="c@example.com", password_hash="h"))
        carol_user = NewUser(username="carol", email="c@example.com", password_hash="h")
        with pytest.raises(RollbackRequired, match=r"users\.add \(UsernameTaken\)"):
            work.users.add(carol_user)  # bob is gone: going on would store less than was seen
        with pytest.raises(RollbackRequired, match=r"users\.add \(UsernameTaken\)"):
            work.commit()
        work.rollback()  # acknowledged: from the last commit again
        carol = work.users.add(carol_user)
        work.commit()
    with uow(read_only=True) as work:
        assert work.users.get(carol.id) == carol
        with pytest.raises(UserNotFound):
            work.users.get(added.id)


def test_read_errors_roll_nothing_back(uow: UnitOfWorkFactory) -> None:
    with uow() as work:
        lamp = work.products.add(NewProduct(name="Lamp", price=Decimal("1.00")))
        with pytest.raises(ProductNotFound):
            work.products.get(lamp.id + 1)
        work.commit()
    with uow(read_only=True) as work:
        assert work.products.get(lamp.id) == lamp


def test_read_only_units_refuse_writes(uow: UnitOfWorkFactory) -> None:
    alice = add_user(uow)
    with uow(read_only=True) as work:
        with pytest.raises(ReadOnlyViolation):
            work.users.delete(alice.id)
        with pytest.raises(ReadOnlyViolation):
            work.carts.get_or_create(alice.id)
        assert work.users.get(alice.id) == alice


def test_autocommit_makes_each_call_visible_at_once(uow: UnitOfWorkFactory) -> None:
    with uow(autocommit=True) as work:
        alice = work.users.add(NewUser(username="alice", email="a@example.com", password_hash="h"))
        with uow(read_only=True) as other:
            assert other.users.get(alice.id) == alice
        with pytest.raises(UsernameTaken):
            work.users.add(NewUser(username="ALICE", email="b@example.com", password_hash="h"))
        work.rollback()  # nothing left to undo
        cart = work.carts.get_or_create(alice.id)  # several statements, one transaction
    with uow(read_only=True) as other:
        assert other.users.get(alice.id) == alice
        assert other.carts.get(cart.id) == cart


def test_autocommit_still_refuses_writes_when_read_only(uow: UnitOfWorkFactory) -> None:
    with uow(read_only=True, autocommit=True) as work, pytest.raises(ReadOnlyViolation):
        work.products.add(NewProduct(name="Lamp", price=Decimal("1.00")))
