# Generated from test_savepoints_async.py (tools/generate_sync.py): edit that instead.
"""A caught error never shrinks a commit, and savepoint blocks let a caller go on: written as a
user writes the code, on both adapters."""

from __future__ import annotations

import contextlib

import pytest

from domain.errors import (
    InsufficientInventory,
    ReadOnlyViolation,
    RollbackRequired,
    TransactionAborted,
    UnitOfWorkMisuse,
    UnitOfWorkNotActive,
    UsernameTaken,
)
from domain.model import NewUser
from ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from tests.contract.helpers import add_product, add_user, snapshot


class Boom(Exception):
    """The caller's own error, not a domain error."""


def _lines(uow: UnitOfWorkFactory, user_id: int) -> list[tuple[int, int]]:
    with uow(read_only=True) as work:
        cart = work.carts.find_for_user(user_id)
    return [] if cart is None else [(i.product_id, i.quantity) for i in cart.items]


def _stock(uow: UnitOfWorkFactory, product_id: int) -> int:
    with uow(read_only=True) as work:
        return work.products.get(product_id).inventory_count


def test_a_caught_error_then_commit_is_refused_and_stores_nothing(
    uow: UnitOfWorkFactory,
) -> None:
    alice, lamp, desk = (
        add_user(uow),
        add_product(uow),
        add_product(uow, "Desk", inventory=1),
    )
    before = snapshot(uow)
    with uow() as work:
        work.carts.add_for_user(alice.id, lamp.id, 1)
        # As a new user would write it: "the desk is short, go on with the lamp".
        with contextlib.suppress(InsufficientInventory):
            work.carts.add_for_user(alice.id, desk.id, 5)
        with pytest.raises(RollbackRequired, match=r"carts\.add_for_user") as refused:
            work.commit()
        assert refused.value.failed == "carts.add_for_user (InsufficientInventory)"
        assert isinstance(refused.value, TransactionAborted)  # commit() stored nothing
    assert snapshot(uow) == before
    assert _lines(uow, alice.id) == []


def test_after_a_failed_write_writes_refuse_and_reads_go_on_until_rollback(
    uow: UnitOfWorkFactory,
) -> None:
    alice, lamp = add_user(uow), add_product(uow, inventory=3)
    with uow() as work:
        work.products.restock(lamp.id, 2)
        with pytest.raises(InsufficientInventory):
            work.products.reserve(lamp.id, 99)
        with pytest.raises(RollbackRequired, match=r"products\.reserve \(Insufficient"):
            work.carts.add_for_user(alice.id, lamp.id, 1)
        with pytest.raises(RollbackRequired, match=r"products\.reserve"):
            work.products.restock(lamp.id, 1)  # the refusal does not rename the failure
        assert work.products.get(lamp.id).inventory_count == 3  # the restock is gone
        work.rollback()
        work.carts.add_for_user(alice.id, lamp.id, 1)
        work.commit()
    assert _lines(uow, alice.id) == [(lamp.id, 1)]
    assert _stock(uow, lamp.id) == 3


def test_leaving_the_block_after_a_failed_write_ends_it(uow: UnitOfWorkFactory) -> None:
    alice = add_user(uow, "alice")
    with uow() as work:
        work.users.add(NewUser(username="bob", email="bob@example.com", password_hash="h"))
        with pytest.raises(UsernameTaken):
            work.users.add(NewUser(username="alice", email="x@example.com", password_hash="h"))
    with uow() as work:  # the next unit of work starts clean
        bob = work.users.add(NewUser(username="bob", email="bob@example.com", password_hash="h"))
        work.commit()
    with uow(read_only=True) as work:
        assert work.users.get(bob.id).username == "bob"
        assert work.users.get(alice.id) == alice


def test_a_failure_in_an_autocommit_unit_of_work_refuses_nothing_after_it(
    uow: UnitOfWorkFactory,
) -> None:
    lamp = add_product(uow, inventory=1)
    with uow(autocommit=True) as work:
        work.products.restock(lamp.id, 1)  # committed when it returned
        with pytest.raises(InsufficientInventory):
            work.products.reserve(lamp.id, 5)
        work.products.restock(lamp.id, 1)
        work.commit()
    assert _stock(uow, lamp.id) == 3


def test_a_failed_write_in_a_savepoint_rolls_back_only_the_block(
    uow: UnitOfWorkFactory,
) -> None:
    alice, lamp = add_user(uow), add_product(uow, inventory=5)
    desk = add_product(uow, "Desk", inventory=1)
    with uow() as work:
        work.carts.add_for_user(alice.id, lamp.id, 1)
        with pytest.raises(InsufficientInventory), work.savepoint():  # noqa: PT012
            work.products.restock(lamp.id, 10)  # written in the block: goes with it
            work.carts.add_for_user(alice.id, desk.id, 5)
        work.products.restock(desk.id, 1)  # the unit of work goes on after the block
        work.commit()
    assert _lines(uow, alice.id) == [(lamp.id, 1)]
    assert (_stock(uow, lamp.id), _stock(uow, desk.id)) == (5, 2)


def test_a_savepoint_block_that_succeeds_is_committed_with_the_rest(
    uow: UnitOfWorkFactory,
) -> None:
    alice, lamp = add_user(uow), add_product(uow)
    with uow() as work:
        with work.savepoint():  # the first write of the transaction is inside the block
            work.carts.add_for_user(alice.id, lamp.id, 2)
        with work.savepoint():
            work.products.restock(lamp.id, 1)
        work.commit()
    assert _lines(uow, alice.id) == [(lamp.id, 2)]
    assert _stock(uow, lamp.id) == 11


def test_the_callers_own_exception_rolls_the_block_back_and_propagates(
    uow: UnitOfWorkFactory,
) -> None:
    lamp = add_product(uow)
    with uow() as work:
        work.products.restock(lamp.id, 1)
        with pytest.raises(Boom), work.savepoint():  # noqa: PT012
            work.products.restock(lamp.id, 100)
            raise Boom
        work.products.restock(lamp.id, 1)
        work.commit()
    assert _stock(uow, lamp.id) == 12


def test_an_error_caught_inside_the_block_is_reported_when_the_block_ends(
    uow: UnitOfWorkFactory,
) -> None:
    alice, lamp = add_user(uow), add_product(uow, inventory=2)
    with uow() as work:
        work.products.restock(lamp.id, 1)
        with pytest.raises(RollbackRequired, match=r"savepoint block") as left, work.savepoint():  # noqa: PT012
            work.carts.add_for_user(alice.id, lamp.id, 1)
            with contextlib.suppress(InsufficientInventory):
                work.products.reserve(lamp.id, 99)
            with pytest.raises(RollbackRequired, match=r"products\.reserve"):
                work.carts.add_for_user(alice.id, lamp.id, 1)
            assert work.carts.find_for_user(alice.id) is None  # the block's add is gone
        assert left.value.savepoint
        work.commit()  # what came before the block is kept
    assert _lines(uow, alice.id) == []
    assert _stock(uow, lamp.id) == 3


def test_savepoint_blocks_nest(uow: UnitOfWorkFactory) -> None:
    lamp = add_product(uow, inventory=1)
    with uow() as work:
        with work.savepoint():
            work.products.restock(lamp.id, 1)
            with pytest.raises(InsufficientInventory), work.savepoint():  # noqa: PT012
                work.products.restock(lamp.id, 10)
                with work.savepoint():
                    work.products.restock(lamp.id, 100)
                work.products.reserve(lamp.id, 1000)
            work.products.restock(lamp.id, 1)
        work.commit()
    assert _stock(uow, lamp.id) == 3


def test_rollback_inside_a_block_discards_everything_and_the_block_ends_quietly(
    uow: UnitOfWorkFactory,
) -> None:
    lamp = add_product(uow)
    with uow() as work:
        work.products.restock(lamp.id, 1)
        with work.savepoint():
            work.products.restock(lamp.id, 1)
            work.rollback()
        work.products.restock(lamp.id, 5)
        work.commit()
    assert _stock(uow, lamp.id) == 15


def test_a_savepoint_is_refused_where_it_has_no_meaning(uow: UnitOfWorkFactory) -> None:
    lamp = add_product(uow)
    with uow() as work, work.savepoint():
        with pytest.raises(UnitOfWorkMisuse, match="commit"):
            work.commit()
        work.products.restock(lamp.id, 1)
    with uow(autocommit=True) as work, pytest.raises(UnitOfWorkMisuse), work.savepoint():
        pass
    with uow(read_only=True) as work, pytest.raises(ReadOnlyViolation), work.savepoint():
        pass
    outside = uow()
    with pytest.raises(UnitOfWorkNotActive), outside.savepoint():
        pass
    assert _stock(uow, lamp.id) == 10  # the block's restock was never committed


def test_a_savepoint_block_is_used_once_and_refused_after_a_failure(
    uow: UnitOfWorkFactory,
) -> None:
    lamp = add_product(uow)
    with uow() as work:
        block = work.savepoint()
        with block:
            work.products.restock(lamp.id, 1)
        with pytest.raises(UnitOfWorkMisuse, match="entered once"), block:
            pass
        with pytest.raises(InsufficientInventory):
            work.products.reserve(lamp.id, 99)
        with pytest.raises(RollbackRequired), work.savepoint():
            pass
        work.rollback()
        with work.savepoint():
            work.products.restock(lamp.id, 2)
        work.commit()
    assert _stock(uow, lamp.id) == 12


def _go_on_after_each(work: UnitOfWork, product_id: int) -> int:
    """A loop that tries every reservation and keeps those that worked."""
    kept = 0
    for quantity in (3, 50, 2, 50, 1):
        try:
            with work.savepoint():
                work.products.reserve(product_id, quantity)
            kept += quantity
        except InsufficientInventory:
            continue
    return kept


def test_a_loop_of_savepoint_blocks_keeps_each_that_worked(
    uow: UnitOfWorkFactory,
) -> None:
    lamp = add_product(uow, inventory=10)
    with uow() as work:
        kept = _go_on_after_each(work, lamp.id)
        work.commit()
    assert (kept, _stock(uow, lamp.id)) == (6, 4)
