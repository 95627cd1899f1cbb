"""Run a whole unit of work again when the database aborted it to stay consistent."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from domain.errors import TransientConflict

T = TypeVar("T")

ATTEMPTS = 3


def retrying(work: Callable[[], T], attempts: int = ATTEMPTS) -> T:
    """Call `work` until it does not raise TransientConflict, at most `attempts` times. Only for
    work that opens its own unit of work and has no effect outside it, so a re-run is safe."""
    for _ in range(attempts - 1):
        try:
            return work()
        except TransientConflict:
            continue
    return work()
