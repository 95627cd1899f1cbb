# Generated from test_causality_async.py (tools/generate_sync.py): edit that instead.
"""Contract of causal tokens: what a commit leaves for reads after it, in this context or
carried elsewhere (on PostgreSQL, with routing on; the replicas' own tests are
tests/integration/test_replicas.py)."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import Any

import pytest

from adapters.memory.unit_of_work import MemoryUnitOfWorkFactory
from adapters.postgres.replicas import Router
from adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory
from domain.errors import InvalidInput, UserNotFound
from domain.model import NewUser
from ports.causality import causal_token, position, reading_after
from ports.unit_of_work import UnitOfWorkFactory
from tests.contract.helpers import add_user


@pytest.fixture(params=["memory", "postgres"])
def routed(request: pytest.FixtureRequest) -> UnitOfWorkFactory:
    """The adapters as they are with replicas configured (on PostgreSQL: a router, here over
    no replica, so every read still reaches the primary)."""
    if request.param == "memory":
        return MemoryUnitOfWorkFactory()
    plain: PostgresUnitOfWorkFactory = request.getfixturevalue("postgres_uow")
    return PostgresUnitOfWorkFactory(plain.pool, router=Router(plain.pool))


def fresh(body: Callable[[], Any]) -> Any:
    """Runs `body` in a context of its own, as a new thread or task starts: no token yet."""
    return contextvars.Context().run(body)


def test_a_commit_that_wrote_leaves_a_later_token(routed: UnitOfWorkFactory) -> None:
    def body() -> None:
        assert causal_token() is None
        add_user(routed, "alice")
        first = causal_token()
        assert isinstance(first, str)
        assert len(first) <= 17
        add_user(routed, "bob")
        second = causal_token()
        assert second is not None
        assert position(second) > position(first)

    fresh(body)


def test_no_write_no_rollback_leaves_no_token(routed: UnitOfWorkFactory) -> None:
    def body() -> None:
        with routed() as work:
            work.users.add(NewUser(username="alice", email="a@example.com", password_hash="h"))
            work.rollback()
            work.commit()  # nothing left to commit
        with routed(read_only=True) as work, pytest.raises(UserNotFound):
            work.users.get_by_username("alice")
        assert causal_token() is None

    fresh(body)


def test_a_token_carried_to_another_thread_reads_the_write(
    routed: UnitOfWorkFactory,
) -> None:
    def write() -> str:
        add_user(routed, "alice")
        made = causal_token()
        assert made is not None
        return made

    carried = fresh(write)
    seen: list[Any] = []

    def read() -> None:  # a new thread: a context with no token of its own
        try:
            assert causal_token() is None
            with reading_after(carried):
                assert causal_token() == carried
                with routed(read_only=True) as work:
                    seen.append(work.users.get_by_username("alice").username)
            assert causal_token() is None  # the carried token was for the block only
        except BaseException as exc:
            seen.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    reader.join()
    assert seen == ["alice"]


def test_commits_inside_a_reading_after_block_are_kept(
    routed: UnitOfWorkFactory,
) -> None:
    def body() -> None:
        with reading_after("0/1"):
            add_user(routed, "alice")
            inside = causal_token()
        assert inside is not None
        assert causal_token() == inside

    fresh(body)


@pytest.mark.parametrize(
    "bad", ["", "garbage", "0/ZZ", "1/2/3", "0/1\n", " 0/1", "123456789/0", "0/" + "F" * 40]
)
def test_reading_after_refuses_what_is_not_a_token(routed: UnitOfWorkFactory, bad: str) -> None:
    def body() -> None:
        with pytest.raises(InvalidInput), reading_after(bad):
            pass
        assert causal_token() is None

    fresh(body)


@pytest.mark.parametrize("bad", [5, b"0/1", True, 1.5])
def test_reading_after_refuses_other_types(routed: UnitOfWorkFactory, bad: object) -> None:
    with pytest.raises(InvalidInput), reading_after(bad):  # type: ignore[arg-type]
        pass
