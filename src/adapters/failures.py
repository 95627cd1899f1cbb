"""What both adapters say about a call that failed inside a unit of work, and which errors are
refusals (nothing was attempted, so nothing is rolled back)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.errors import (
    ReadOnlyViolation,
    RollbackRequired,
    UnitOfWorkBusy,
    UnitOfWorkMisuse,
    UnitOfWorkNotActive,
)

# Raised before anything was attempted: they roll nothing back and mark nothing failed.
REFUSALS = (
    RollbackRequired,
    UnitOfWorkNotActive,
    UnitOfWorkBusy,
    ReadOnlyViolation,
    UnitOfWorkMisuse,
)


def call_name(method: Callable[..., Any]) -> str:
    """`carts.add_item` for PostgresCartRepository.add_item or MemoryCartRepository.add_item:
    the name a caller reaches it by through the unit of work."""
    owner = method.__qualname__.split(".")[0]
    for prefix in ("Async", "Postgres", "Memory"):
        owner = owner.removeprefix(prefix)
    return f"{owner.removesuffix('Repository').lower()}s.{method.__name__}"


def failed_call(name: str, exc: BaseException) -> str:
    """The failed call as RollbackRequired names it: the method and the error's class, never
    the arguments or the message (they may hold what the caller should not see logged)."""
    return f"{name} ({type(exc).__name__})"


# A savepoint block's states: made, open (entered and not left), lost (the whole transaction
# was rolled back while it was open), and closed (left, or never to be entered).
BLOCK_NEW, BLOCK_OPEN, BLOCK_LOST, BLOCK_CLOSED = "new", "open", "lost", "closed"
OUT_OF_ORDER = "leaving a savepoint block before the block opened inside it"
NOT_OPEN = "this savepoint block is not open: left already, or never entered"
LEFT_OUT_OF_ORDER = (
    "a savepoint block was left while a block opened inside it was still open: the unit of"
    " work was rolled back"
)
