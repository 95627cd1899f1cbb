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
from ports.unit_of_work_async import AsyncUnitOfWork, AsyncUnitOfWorkFactory
from tests.contract.helpers_async import add_product, add_user, snapshot


class Boom(Exception):
    """The caller's own error, not a domain error."""


async def _lines(uow: AsyncUnitOfWorkFactory, user_id: int) -> list[tuple[int, int]]:
    async with uow(read_only=True) as work:
        cart = await work.carts.find_for_user(user_id)
    return [] if cart is None else [(i.product_id, i.quantity) for i in cart.items]


async def _stock(uow: AsyncUnitOfWorkFactory, product_id: int) -> int:
    async with uow(read_only=True) as work:
        return (await work.products.get(product_id)).inventory_count


async def test_a_caught_error_then_commit_is_refused_and_stores_nothing(
    uow: AsyncUnitOfWorkFactory,
) -> None:
    alice, lamp, desk = (
        await add_user(uow),
        await add_product(uow),
        await add_product(uow, "Desk", inventory=1),
    )
    before = await snapshot(uow)
    async with uow() as work:
        await work.carts.add_for_user(alice.id, lamp.id, 1)
        # As a new user would write it: "the desk is short, go on with the lamp".
        with contextlib.suppress(InsufficientInventory):
            await work.carts.add_for_user(alice.id, desk.id, 5)
        with pytest.raises(RollbackRequired, match=r"carts\.add_for_user") as refused:
            await work.commit()
        assert refused.value.failed == "carts.add_for_user (InsufficientInventory)"
        assert isinstance(refused.value, TransactionAborted)  # commit() stored nothing
    assert await snapshot(uow) == before
    assert await _lines(uow, alice.id) == []


async def test_after_a_failed_write_writes_refuse_and_reads_go_on_until_rollback(
    uow: AsyncUnitOfWorkFactory,
) -> None:
    alice, lamp = await add_user(uow), await add_product(uow, inventory=3)
    async with uow() as work:
        await work.products.restock(lamp.id, 2)
        with pytest.raises(InsufficientInventory):
            await work.products.reserve(lamp.id, 99)
        with pytest.raises(RollbackRequired, match=r"products\.reserve \(Insufficient"):
            await work.carts.add_for_user(alice.id, lamp.id, 1)
        with pytest.raises(RollbackRequired, match=r"products\.reserve"):
            await work.products.restock(lamp.id, 1)  # the refusal does not rename the failure
        assert (await work.products.get(lamp.id)).inventory_count == 3  # the restock is gone
        await work.rollback()
        await work.carts.add_for_user(alice.id, lamp.id, 1)
        await work.commit()
    assert await _lines(uow, alice.id) == [(lamp.id, 1)]
    assert await _stock(uow, lamp.id) == 3


async def test_leaving_the_block_after_a_failed_write_ends_it(uow: AsyncUnitOfWorkFactory) -> None:
    alice = await add_user(uow, "alice")
    async with uow() as work:
        await work.users.add(NewUser(username="bob", email="bob@example.com", password_hash="h"))
        with pytest.raises(UsernameTaken):
            await work.users.add(
                NewUser(username="alice", email="x@example.com", password_hash="h")
            )
    async with uow() as work:  # the next unit of work starts clean
        bob = await work.users.add(
            NewUser(username="bob", email="bob@example.com", password_hash="h")
        )
        await work.commit()
    async with uow(read_only=True) as work:
        assert (await work.users.get(bob.id)).username == "bob"
        assert await work.users.get(alice.id) == alice


async def test_a_failure_in_an_autocommit_unit_of_work_refuses_nothing_after_it(
    uow: AsyncUnitOfWorkFactory,
) -> None:
    lamp = await add_product(uow, inventory=1)
    async with uow(autocommit=True) as work:
        await work.products.restock(lamp.id, 1)  # committed when it returned
        with pytest.raises(InsufficientInventory):
            await work.products.reserve(lamp.id, 5)
        await work.products.restock(lamp.id, 1)
        await work.commit()
    assert await _stock(uow, lamp.id) == 3


async def test_a_failed_write_in_a_savepoint_rolls_back_only_the_block(
    uow: AsyncUnitOfWorkFactory,
) -> None:
    alice, lamp = await add_user(uow), await add_product(uow, inventory=5)
    desk = await add_product(uow, "Desk", inventory=1)
    async with uow() as work:
        await work.carts.add_for_user(alice.id, lamp.id, 1)
        with pytest.raises(InsufficientInventory):  # noqa: PT012
            async with work.savepoint():
                await work.products.restock(lamp.id, 10)  # written in the block: goes with it
                await work.carts.add_for_user(alice.id, desk.id, 5)
        await work.products.restock(desk.id, 1)  # the unit of work goes on after the block
        await work.commit()
    assert await _lines(uow, alice.id) == [(lamp.id, 1)]
    assert (await _stock(uow, lamp.id), await _stock(uow, desk.id)) == (5, 2)


async def test_a_savepoint_block_that_succeeds_is_committed_with_the_rest(
    uow: AsyncUnitOfWorkFactory,
) -> None:
    alice, lamp = await add_user(uow), await add_product(uow)
    async with uow() as work:
        async with work.savepoint():  # the first write of the transaction is inside the block
            await work.carts.add_for_user(alice.id, lamp.id, 2)
        async with work.savepoint():
            await work.products.restock(lamp.id, 1)
        await work.commit()
    assert await _lines(uow, alice.id) == [(lamp.id, 2)]
    assert await _stock(uow, lamp.id) == 11


async def test_the_callers_own_exception_rolls_the_block_back_and_propagates(
    uow: AsyncUnitOfWorkFactory,
) -> None:
    lamp = await add_product(uow)
    async with uow() as work:
        await work.products.restock(lamp.id, 1)
        with pytest.raises(Boom):  # noqa: PT012
            async with work.savepoint():
                await work.products.restock(lamp.id, 100)
                raise Boom
        await work.products.restock(lamp.id, 1)
        await work.commit()
    assert await _stock(uow, lamp.id) == 12


async def test_an_error_caught_inside_the_block_is_reported_when_the_block_ends(
    uow: AsyncUnitOfWorkFactory,
) -> None:
    alice, lamp = await add_user(uow), await add_product(uow, inventory=2)
    async with uow() as work:
        await work.products.restock(lamp.id, 1)
        with pytest.raises(RollbackRequired, match=r"savepoint block") as left:  # noqa: PT012
            async with work.savepoint():
                await work.carts.add_for_user(alice.id, lamp.id, 1)
                with contextlib.suppress(InsufficientInventory):
                    await work.products.reserve(lamp.id, 99)
                with pytest.raises(RollbackRequired, match=r"products\.reserve"):
                    await work.carts.add_for_user(alice.id, lamp.id, 1)
                assert await work.carts.find_for_user(alice.id) is None  # the block's add is gone
        assert left.value.savepoint
        await work.commit()  # what came before the block is kept
    assert await _lines(uow, alice.id) == []
    assert await _stock(uow, lamp.id) == 3


async def test_savepoint_blocks_nest(uow: AsyncUnitOfWorkFactory) -> None:
    lamp = await add_product(uow, inventory=1)
    async with uow() as work:
        async with work.savepoint():
            await work.products.restock(lamp.id, 1)
            with pytest.raises(InsufficientInventory):  # noqa: PT012
                async with work.savepoint():
                    await work.products.restock(lamp.id, 10)
                    async with work.savepoint():
                        await work.products.restock(lamp.id, 100)
                    await work.products.reserve(lamp.id, 1000)
            await work.products.restock(lamp.id, 1)
        await work.commit()
    assert await _stock(uow, lamp.id) == 3


async def test_rollback_inside_a_block_discards_everything_and_the_block_ends_quietly(
    uow: AsyncUnitOfWorkFactory,
) -> None:
    lamp = await add_product(uow)
    async with uow() as work:
        await work.products.restock(lamp.id, 1)
        async with work.savepoint():
            await work.products.restock(lamp.id, 1)
            await work.rollback()
        await work.products.restock(lamp.id, 5)
        await work.commit()
    assert await _stock(uow, lamp.id) == 15


async def test_a_savepoint_is_refused_where_it_has_no_meaning(uow: AsyncUnitOfWorkFactory) -> None:
    lamp = await add_product(uow)
    async with uow() as work, work.savepoint():
        with pytest.raises(UnitOfWorkMisuse, match="commit"):
            await work.commit()
        await work.products.restock(lamp.id, 1)
    async with uow(autocommit=True) as work:
        with pytest.raises(UnitOfWorkMisuse):
            async with work.savepoint():
                pass
    async with uow(read_only=True) as work:
        with pytest.raises(ReadOnlyViolation):
            async with work.savepoint():
                pass
    outside = uow()
    with pytest.raises(UnitOfWorkNotActive):
        async with outside.savepoint():
            pass
    assert await _stock(uow, lamp.id) == 10  # the block's restock was never committed


async def test_a_savepoint_block_is_used_once_and_refused_after_a_failure(
    uow: AsyncUnitOfWorkFactory,
) -> None:
    lamp = await add_product(uow)
    async with uow() as work:
        block = work.savepoint()
        async with block:
            await work.products.restock(lamp.id, 1)
        with pytest.raises(UnitOfWorkMisuse, match="entered once"):
            async with block:
                pass
        with pytest.raises(InsufficientInventory):
            await work.products.reserve(lamp.id, 99)
        with pytest.raises(RollbackRequired):
            async with work.savepoint():
                pass
        await work.rollback()
        async with work.savepoint():
            await work.products.restock(lamp.id, 2)
        await work.commit()
    assert await _stock(uow, lamp.id) == 12


async def _go_on_after_each(work: AsyncUnitOfWork, product_id: int) -> int:
    """A loop that tries every reservation and keeps those that worked."""
    kept = 0
    for quantity in (3, 50, 2, 50, 1):
        try:
            async with work.savepoint():
                await work.products.reserve(product_id, quantity)
            kept += quantity
        except InsufficientInventory:
            continue
    return kept


async def test_a_loop_of_savepoint_blocks_keeps_each_that_worked(
    uow: AsyncUnitOfWorkFactory,
) -> None:
    lamp = await add_product(uow, inventory=10)
    async with uow() as work:
        kept = await _go_on_after_each(work, lamp.id)
        await work.commit()
    assert (kept, await _stock(uow, lamp.id)) == (6, 4)
