"""Causal tokens as strings: every 64-bit position round-trips, in pg_lsn's own text form."""

from __future__ import annotations

import asyncio
import contextvars
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ports.causality import causal_token, committed, position, reading_after, token


@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_every_position_round_trips(at: int) -> None:
    text = token(at)
    assert position(text) == at
    assert position(text.lower()) == at
    assert len(text) <= 17


def test_the_token_is_pg_lsn_text() -> None:
    assert token(0x16B3748) == "0/16B3748"
    assert token((2 << 32) | 0x1A) == "2/1A"


def test_a_handed_token_behind_this_context_s_own_commit_changes_nothing() -> None:
    def body() -> None:
        committed(100)
        with reading_after(token(50)):
            assert causal_token() == token(100)
        committed(90)  # positions only move forward
        assert causal_token() == token(100)

    contextvars.Context().run(body)


def test_a_commit_not_replayed_is_dated_from_when_this_process_made_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ports import causality

    monkeypatch.setattr(causality, "_recent_positions", [])
    monkeypatch.setattr(causality, "_recent_times", [])

    def commits() -> None:
        causality.committed(100)
        made = time.monotonic()
        causality.committed(200)
        causality.committed(150)  # older than the latest: no newer entry
        since = causality.unreplayed_since(50)
        assert since is not None
        assert since <= made
        later = causality.unreplayed_since(150)
        assert later is not None
        assert later >= made
        assert causality.unreplayed_since(200) is None

    contextvars.Context().run(commits)  # the test's own context keeps its token


def test_a_task_sees_what_its_calls_through_to_thread_committed() -> None:
    """asyncio.to_thread runs each call in a copy of the task's context: inside causal_scope
    the commits made there count for the task, and for no other task."""
    from ports import causality

    async def task(at: int) -> tuple[str | None, str | None]:
        with causality.causal_scope():
            before = causality.causal_token()
            await asyncio.to_thread(causality.committed, at)
            return before, causality.causal_token()

    async def both() -> list[tuple[str | None, str | None]]:
        return list(await asyncio.gather(task(0x10), task(0x20)))

    seen = contextvars.Context().run(asyncio.run, both())  # a context with no commit yet
    assert seen == [(None, "0/10"), (None, "0/20")]


def test_a_scope_keeps_what_was_committed_before_and_after() -> None:
    from ports import causality

    def body() -> list[str | None]:
        causality.committed(0x30)
        with causality.causal_scope():
            inside = causality.causal_token()
            contextvars.copy_context().run(causality.committed, 0x40)
            copied = causality.causal_token()
        return [inside, copied, causality.causal_token()]

    assert contextvars.Context().run(body) == ["0/30", "0/40", "0/40"]
