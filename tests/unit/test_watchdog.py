"""The watchdog's schedule, without a clock: when it looks next at the calls in flight."""

from __future__ import annotations

from typing import Any, cast

import pytest

from adapters.postgres.deadlines import Watchdog


def _calls(watchdog: Watchdog, *deadlines: float) -> None:
    for deadline in deadlines:
        watchdog.in_flight[cast(Any, object())] = (deadline, 12.0)


def test_with_nothing_due_within_a_tick_it_sleeps_a_tick() -> None:
    watchdog = Watchdog(tick=0.2)
    assert watchdog.until_next(100.0) == pytest.approx(0.2)
    _calls(watchdog, 112.0, 100.5)
    assert watchdog.until_next(100.0) == pytest.approx(0.2)


def test_a_deadline_within_the_tick_is_checked_as_it_passes_not_a_tick_later() -> None:
    """The tick in the documented bound is then left for a busy interpreter to wake it."""
    watchdog = Watchdog(tick=0.2)
    _calls(watchdog, 112.0, 100.05, 100.15)
    wait = watchdog.until_next(100.0)
    assert 0.05 < wait < 0.06


def test_a_deadline_already_passed_is_checked_at_once() -> None:
    watchdog = Watchdog(tick=0.2)
    _calls(watchdog, 99.0)
    assert watchdog.until_next(100.0) == 0.0
