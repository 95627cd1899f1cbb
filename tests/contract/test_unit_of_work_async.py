"""Contract of the unit of work: isolation, commit, rollback, read-only, aborted writes."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from domain.errors import (
    InsufficientInventory,
    ProductNotFound,
    ReadOnlyViolation,
    RollbackRequired,
    UnitOfWorkBusy,
    UnitOfWorkMisuse,
    UsernameTaken,
    UserNotFound,
)
from domain.model import NewProduct, NewUser
from ports.unit_of_work_async import AsyncUnitOfWorkFactory
from tests.contract.helpers_async import add_product, add_user


async def test_nothing_is_kept_without_commit(uow: AsyncUnitOfWorkFactory) -> None:
    async with uow() as work:
        await work.users.add(NewUser(username="alice", email="a@example.com", password_hash="h"))
    await add_user(uow, "alice")  # the name was never taken


async def test_rollback_then_continue(uow: AsyncUnitOfWorkFactory) -> None:
    async with uow() as work:
        first = await work.users.add(
            NewUser(username="alice", email="a@example.com", password_hash="h")
        )
        await work.rollback()
        second = await work.users.add(
            NewUser(username="alice", email="a@example.com", password_hash="h")
        )
        await work.commit()
    assert second.id == first.id + 1
    async with uow(read_only=True) as work:
        assert await work.users.get_by_username("alice") == second


async def test_uncommitted_work_is_invisible_to_others(uow: AsyncUnitOfWorkFactory) -> None:
    lamp = await add_product(uow, inventory=5)
    async with uow() as writer:
        await writer.products.reserve(lamp.id, 2)
        async with uow(read_only=True) as reader:
            assert (await reader.products.get(lamp.id)).inventory_count == 5
        await writer.commit()
    async with uow(read_only=True) as reader:
        assert (await reader.products.get(lamp.id)).inventory_count == 3


async def test_a_failed_write_rolls_the_transaction_back(uow: AsyncUnitOfWorkFactory) -> None:
    await add_user(uow, "alice")
    async with uow() as work:
        added = await work.users.add(
            NewUser(username="bob", email="b@example.com", password_hash="h")
        )
        with pytest.raises(UsernameTaken):
            await work.users.add(
                NewUser(username="ALICE", email="c@example.com", password_hash="h")
            )
        carol_user = NewUser(username="carol", email="c@example.com", password_hash="h")
        with pytest.raises(RollbackRequired, match=r"users\.add \(UsernameTaken\)"):
            await work.users.add(carol_user)  # bob is gone: going on would store less than was seen
        with pytest.raises(RollbackRequired, match=r"users\.add \(UsernameTaken\)"):
            await work.commit()
        await work.rollback()  # acknowledged: from the last commit again
        carol = await work.users.add(carol_user)
        await work.commit()
    async with uow(read_only=True) as work:
        assert await work.users.get(carol.id) == carol
        with pytest.raises(UserNotFound):
            await work.users.get(added.id)


async def test_read_errors_roll_nothing_back(uow: AsyncUnitOfWorkFactory) -> None:
    async with uow() as work:
        lamp = await work.products.add(NewProduct(name="Lamp", price=Decimal("1.00")))
        with pytest.raises(ProductNotFound):
            await work.products.get(lamp.id + 1)
        await work.commit()
    async with uow(read_only=True) as work:
        assert await work.products.get(lamp.id) == lamp


async def test_read_only_units_refuse_writes(uow: AsyncUnitOfWorkFactory) -> None:
    alice = await add_user(uow)
    async with uow(read_only=True) as work:
        with pytest.raises(ReadOnlyViolation):
            await work.users.delete(alice.id)
        with pytest.raises(ReadOnlyViolation):
            await work.carts.get_or_create(alice.id)
        assert await work.users.get(alice.id) == alice


async def test_autocommit_makes_each_call_visible_at_once(uow: AsyncUnitOfWorkFactory) -> None:
    async with uow(autocommit=True) as work:
        alice = await work.users.add(
            NewUser(username="alice", email="a@example.com", password_hash="h")
        )
        async with uow(read_only=True) as other:
            assert await other.users.get(alice.id) == alice
        with pytest.raises(UsernameTaken):
            await work.users.add(
                NewUser(username="ALICE", email="b@example.com", password_hash="h")
            )
        await work.rollback()  # nothing left to undo
        cart = await work.carts.get_or_create(alice.id)  # several statements, one transaction
    async with uow(read_only=True) as other:
        assert await other.users.get(alice.id) == alice
        assert await other.carts.get(cart.id) == cart


async def test_autocommit_still_refuses_writes_when_read_only(uow: AsyncUnitOfWorkFactory) -> None:
    async with uow(read_only=True, autocommit=True) as work:
        with pytest.raises(ReadOnlyViolation):
            await work.products.add(NewProduct(name="Lamp", price=Decimal("1.00")))


if True:  # ASYNC
    # Tasks that share a unit of work (asyncio only): they take turns, and are told when not.

    async def test_a_write_inside_a_savepoint_block_of_another_task_is_refused(
        uow: AsyncUnitOfWorkFactory,
    ) -> None:
        lamp = await add_product(uow, "Lamp", inventory=1)
        desk = await add_product(uow, "Desk", inventory=0)
        opened, tried = asyncio.Event(), asyncio.Event()
        refused: list[BaseException] = []
        async with uow() as work:

            async def in_block() -> None:
                with pytest.raises(InsufficientInventory):  # noqa: PT012
                    async with work.savepoint():
                        await work.products.reserve(lamp.id, 1)
                        opened.set()
                        await tried.wait()
                        await work.products.reserve(lamp.id, 5)

            async def other() -> None:
                await opened.wait()
                try:
                    await work.products.restock(desk.id, 7)
                except UnitOfWorkMisuse as error:
                    refused.append(error)
                finally:
                    tried.set()

            await asyncio.gather(in_block(), other())
            assert [type(e) for e in refused] == [UnitOfWorkMisuse]
            await work.products.restock(desk.id, 2)  # the block is gone: writes go on
            await work.commit()
        async with uow(read_only=True) as work:
            assert (await work.products.get(lamp.id)).inventory_count == 1
            assert (await work.products.get(desk.id)).inventory_count == 2

    @pytest.mark.parametrize("ending", ["commit", "rollback"])
    async def test_a_write_while_a_commit_or_rollback_is_under_way_is_refused_or_after_it(
        uow: AsyncUnitOfWorkFactory, ending: str
    ) -> None:
        lamp = await add_product(uow, "Lamp", inventory=1)
        async with uow() as work:
            await work.products.restock(lamp.id, 2)
            outcomes = await asyncio.gather(
                getattr(work, ending)(),
                work.products.restock(lamp.id, 100),
                return_exceptions=True,
            )
            # Left without commit(): a write that ran after the end is rolled back.
        assert outcomes[0] is None
        written = outcomes[1]  # the product as the write left it, or the refusal
        assert not isinstance(written, BaseException) or isinstance(written, UnitOfWorkBusy)
        async with uow(read_only=True) as work:
            stock = (await work.products.get(lamp.id)).inventory_count
        assert stock == {"commit": 3, "rollback": 1}[ending]
