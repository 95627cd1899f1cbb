# Generated from retry_async.py (tools/generate_sync.py): edit that instead.
"""Run a whole unit of work again when the database aborted it to stay consistent."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from domain.errors import TransientConflict

T = TypeVar("T")

ATTEMPTS = 3

logger = logging.getLogger("shopdb.services")


def retrying(work: Callable[[], T], attempts: int = ATTEMPTS) -> T:
    """Call `work` until it does not raise TransientConflict, at most `attempts` times. Only for
    work that opens its own unit of work and has no effect outside it, so a re-run is safe.
    Each retry is logged as a WARNING: many of them mean contention worth looking into."""
    for attempt in range(1, attempts):
        try:
            return work()
        except TransientConflict as exc:
            # The error's class only: its message may name the rows involved.
            logger.warning(
                "retrying after %s (attempt %d of %d failed)",
                type(exc).__name__,
                attempt,
                attempts,
            )
    return work()
