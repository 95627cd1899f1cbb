"""Read-your-writes across servers: the causal token a commit leaves, and where reads find it.

A commit that wrote something leaves a causal token: the position of the primary's write-ahead
log just after the commit, as a short opaque string. Within one thread or asyncio task the
layer remembers the latest itself (a context variable), so a read-only unit of work that
follows a commit in the same task reads what it committed, wherever it reads. Across processes
the application carries the string: `causal_token()` after the commit, and
`with reading_after(token):` around the read in the other process.

With no replicas the PostgreSQL adapter takes no token (nothing to wait for); the fake's
tokens count its commits."""

from __future__ import annotations

import re
import threading
from bisect import bisect_right
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from time import monotonic

from domain.errors import InvalidInput

# A pg_lsn as PostgreSQL prints it: two hexadecimal halves of a 64-bit position.
_TOKEN = re.compile(r"\A([0-9A-F]{1,8})/([0-9A-F]{1,8})\Z")


class _Committed:
    """What a context committed, as a cell: a copy of the context (asyncio.to_thread runs its
    call in one) that finds the cell already there writes into it, not into a copy of its own."""

    __slots__ = ("at",)

    def __init__(self, at: int | None) -> None:
        self.at = at


# Two variables: what this context committed, and what a caller handed in for a block. The
# block's token is forgotten at its end; commits made inside it are not.
_own: ContextVar[_Committed | None] = ContextVar("shopdb_committed_position", default=None)
_handed: ContextVar[int | None] = ContextVar("shopdb_handed_position", default=None)
# This process's recent commits, every thread's: positions rising, and when each was made.
_RECENT_MAX = 4096
_recent_positions: list[int] = []
_recent_times: list[float] = []
_recent_lock = threading.Lock()


def position(token: str) -> int:
    """The position a token stands for. Raises InvalidInput for anything that is not a token
    (the message does not repeat it)."""
    # ASCII first: str.upper() makes "FF" of the ligature "\ufb00".
    if type(token) is not str or len(token) > 17 or not token.isascii():
        raise InvalidInput("a causal token is a string such as '0/16B3748'")
    found = _TOKEN.match(token.upper())
    if found is None:
        raise InvalidInput("a causal token is a string such as '0/16B3748'")
    return (int(found[1], 16) << 32) | int(found[2], 16)


def token(at: int) -> str:
    """The token of position `at` (pg_lsn's own text form, so the server can read it back)."""
    return f"{at >> 32:X}/{at & 0xFFFFFFFF:X}"


def causal_token() -> str | None:
    """The token of the latest commit this thread or task made or was handed (reading_after);
    None when there is none."""
    at = last_position()
    return None if at is None else token(at)


def last_position() -> int | None:
    """What reads in this thread or task must see, as a position (for the adapters)."""
    cell, handed = _own.get(), _handed.get()
    own = None if cell is None else cell.at
    if own is None or (handed is not None and handed > own):
        return handed
    return own


def committed(at: int) -> None:
    """Called by an adapter after a commit at `at`: later reads in this context must see it."""
    cell = _own.get()
    if cell is None:
        _own.set(_Committed(at))
    elif cell.at is None or at > cell.at:
        cell.at = at
    now = monotonic()
    with _recent_lock:
        if not _recent_positions or at > _recent_positions[-1]:
            if len(_recent_positions) >= _RECENT_MAX:
                del _recent_positions[: _RECENT_MAX // 2], _recent_times[: _RECENT_MAX // 2]
            _recent_positions.append(at)
            _recent_times.append(now)


def unreplayed_since(replayed: int) -> float | None:
    """When (time.monotonic()) this process made the oldest of its recent commits that a server
    at `replayed` has not replayed; None when it has them all. A replica cut off from its
    primary has replayed all it received and reports no lag of its own: this is how long it
    has missed this process's commits."""
    with _recent_lock:
        found = bisect_right(_recent_positions, replayed)
        return _recent_times[found] if found < len(_recent_times) else None


@contextmanager
def causal_scope() -> Iterator[None]:
    """A cell of its own for this context's commits, which copies of the context (as
    `asyncio.to_thread` runs each call in one) write into too: wrap the body of an asyncio task
    that calls shopdb through `asyncio.to_thread`, so that a read after a write in that task
    sees the write, and no other task's commits count for it. What the context committed before
    goes on counting; at the end, what was committed inside stays the context's."""
    cell = _own.get()
    reset = _own.set(_Committed(None if cell is None else cell.at))
    try:
        yield
    finally:
        inside = _own.get()
        _own.reset(reset)
        if inside is not None and inside.at is not None:
            committed(inside.at)


@contextmanager
def reading_after(causal: str | None) -> Iterator[None]:
    """Inside the block, reads see at least what the commit of `causal` stored (a token from
    `causal_token()`, possibly of another process; None: nothing more than before). Raises
    InvalidInput for a string that is not a token, before anything is read."""
    at = None if causal is None else position(causal)
    handed = _handed.get()
    reset = _handed.set(at if handed is None or (at is not None and at > handed) else handed)
    try:
        yield
    finally:
        _handed.reset(reset)
