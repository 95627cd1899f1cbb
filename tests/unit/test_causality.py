"""Causal tokens as strings: every 64-bit position round-trips, in pg_lsn's own text form."""

from __future__ import annotations

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

    contextvars.copy_context().run(commits)  # the context's own token stays as it was
