"""Causal tokens as strings: every 64-bit position round-trips, in pg_lsn's own text form."""

from __future__ import annotations

import contextvars

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
