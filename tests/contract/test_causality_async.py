"""Contract of causal tokens: what a commit leaves for reads after it, in this context or
carried elsewhere (on PostgreSQL, with routing on; the replicas' own tests are
tests/integration/test_replicas.py)."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from typing import Any

import pytest

from adapters.memory.unit_of_work_async import AsyncMemoryUnitOfWorkFactory
from adapters.postgres.replicas_async import AsyncRouter
from adapters.postgres.unit_of_work_async import AsyncPostgresUnitOfWorkFactory
from domain.errors import InvalidInput, UserNotFound
from domain.model import NewUser
from ports.causality import causal_token, position, reading_after
from ports.unit_of_work_async import AsyncUnitOfWorkFactory
from tests.contract.helpers_async import add_user


@pytest.fixture(params=["memory", "postgres"])
def routed(request: pytest.FixtureRequest) -> AsyncUnitOfWorkFactory:
    """The adapters as they are with replicas configured (on PostgreSQL: a router, here over
    no replica, so every read still reaches the primary)."""
    if request.param == "memory":
        return AsyncMemoryUnitOfWorkFactory()
    plain: AsyncPostgresUnitOfWorkFactory = request.getfixturevalue("postgres_uow_async")
    return AsyncPostgresUnitOfWorkFactory(plain.pool, router=AsyncRouter(plain.pool))


async def fresh(body: Callable[[], Any]) -> Any:
    """Runs `body` in a context of its own, as a new thread or task starts: no token yet."""
    if True:  # ASYNC
        return await asyncio.create_task(body(), context=contextvars.Context())
    return contextvars.Context().run(body)


async def test_a_commit_that_wrote_leaves_a_later_token(routed: AsyncUnitOfWorkFactory) -> None:
    async def body() -> None:
        assert causal_token() is None
        await add_user(routed, "alice")
        first = causal_token()
        assert isinstance(first, str)
        assert len(first) <= 17
        await add_user(routed, "bob")
        second = causal_token()
        assert second is not None
        assert position(second) > position(first)

    await fresh(body)


async def test_no_write_no_rollback_leaves_no_token(routed: AsyncUnitOfWorkFactory) -> None:
    async def body() -> None:
        async with routed() as work:
            await work.users.add(
                NewUser(username="alice", email="a@example.com", password_hash="h")
            )
            await work.rollback()
            await work.commit()  # nothing left to commit
        async with routed(read_only=True) as work:
            with pytest.raises(UserNotFound):
                await work.users.get_by_username("alice")
        assert causal_token() is None

    await fresh(body)


async def test_a_token_carried_to_another_thread_reads_the_write(
    routed: AsyncUnitOfWorkFactory,
) -> None:
    async def write() -> str:
        await add_user(routed, "alice")
        made = causal_token()
        assert made is not None
        return made

    carried = await fresh(write)
    seen: list[Any] = []

    async def read() -> None:  # a new thread: a context with no token of its own
        try:
            assert causal_token() is None
            with reading_after(carried):
                assert causal_token() == carried
                async with routed(read_only=True) as work:
                    seen.append((await work.users.get_by_username("alice")).username)
            assert causal_token() is None  # the carried token was for the block only
        except BaseException as exc:
            seen.append(exc)

    if True:  # ASYNC
        await fresh(read)
    else:
        reader = threading.Thread(target=read)
        reader.start()
        reader.join()
    assert seen == ["alice"]


async def test_commits_inside_a_reading_after_block_are_kept(
    routed: AsyncUnitOfWorkFactory,
) -> None:
    async def body() -> None:
        with reading_after("0/1"):
            await add_user(routed, "alice")
            inside = causal_token()
        assert inside is not None
        assert causal_token() == inside

    await fresh(body)


@pytest.mark.parametrize(
    "bad", ["", "garbage", "0/ZZ", "1/2/3", "0/1\n", " 0/1", "123456789/0", "0/" + "F" * 40]
)
async def test_reading_after_refuses_what_is_not_a_token(
    routed: AsyncUnitOfWorkFactory, bad: str
) -> None:
    async def body() -> None:
        with pytest.raises(InvalidInput), reading_after(bad):
            pass
        assert causal_token() is None

    await fresh(body)


@pytest.mark.parametrize("bad", [5, b"0/1", True, 1.5])
def test_reading_after_refuses_other_types(routed: AsyncUnitOfWorkFactory, bad: object) -> None:
    with pytest.raises(InvalidInput), reading_after(bad):  # type: ignore[arg-type]
        pass
