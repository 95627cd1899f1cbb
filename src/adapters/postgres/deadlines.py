"""Client-side deadlines: a call waiting on the server past its bound gets its socket shut.

`statement_timeout` is enforced by the server, so a frozen server (SIGSTOP, a stalled VM, a
backend stuck on an internal lock during COMMIT) never enforces it; and TCP keepalives and
`tcp_user_timeout` see nothing wrong either, since the server's kernel still acknowledges every
packet. psycopg waits for the answer with no limit. So one thread per pool watches the calls in
flight: each records its deadline when it starts (a dict assignment, ~0.1 µs) and removes it
when it ends; past the deadline the watchdog shuts the connection's socket down. The waiting
call then fails at once with a connection error, which the session turns into
StorageUnavailable naming the deadline, and the pool discards the connection. The server side
of it ends by itself: `client_connection_check_interval` makes the backend notice the client
has gone, even while it waits for a lock.

No timer or thread per statement: the watchdog wakes every `tick` seconds whatever the load,
or sooner for a deadline that falls before its next tick."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import weakref
from typing import Any

import psycopg

logger = logging.getLogger(__name__)

# A connection of either side: the watchdog cuts a socket whoever waits on it.
AnyConnection = psycopg.Connection[Any] | psycopg.AsyncConnection[Any]

# A check woken for a deadline runs this long after it, so that the deadline has passed.
_PAST = 0.001


class Watchdog:
    def __init__(self, *, tick: float = 0.2) -> None:
        self.tick = tick
        # connection -> (deadline, limit); written by callers, scanned by the watchdog thread.
        # Public for the one caller on every read (the session's read block), which sets and
        # pops it itself: two method calls fewer on the hot path.
        self.in_flight: dict[AnyConnection, tuple[float, float]] = {}
        # Connections whose socket this watchdog shut down, with the limit they exceeded.
        self.expired: weakref.WeakKeyDictionary[AnyConnection, float] = weakref.WeakKeyDictionary()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(
                    target=self._run, name="shopdb-deadlines", daemon=True
                )
                self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def watch(self, conn: AnyConnection, limit: float, now: float | None = None) -> None:
        """`conn` is about to wait on the server for at most `limit` seconds (from `now`, a
        `time.monotonic()` the caller took already)."""
        self.in_flight[conn] = ((time.monotonic() if now is None else now) + limit, limit)

    def done(self, conn: AnyConnection) -> None:
        self.in_flight.pop(conn, None)

    def exceeded(self, conn: AnyConnection) -> float | None:
        """The limit `conn` exceeded, if the watchdog cut it."""
        return self.expired.get(conn)

    def until_next(self, now: float) -> float:
        """Seconds from `now` to the next check: a tick, or less when a deadline falls within
        it. A call is then cut as its deadline passes, not up to a tick later, and the tick
        in the documented bound is left for this thread to get the GIL back while the
        application's own threads keep the interpreter busy."""
        wake = now + self.tick
        for deadline, _ in list(self.in_flight.values()):
            wake = min(wake, deadline + _PAST)
        return max(wake - now, 0.0)

    def _run(self) -> None:
        while not self._stop.wait(self.until_next(time.monotonic())):
            now = time.monotonic()
            for conn, (deadline, limit) in list(self.in_flight.items()):
                if now > deadline and self.in_flight.get(conn, (0.0, 0.0))[0] == deadline:
                    self._cut(conn, limit)

    def _cut(self, conn: AnyConnection, limit: float) -> None:
        self.in_flight.pop(conn, None)
        self.expired[conn] = limit
        try:
            fd = conn.pgconn.socket
            # A duplicate of the descriptor: shutting it down ends the connection for both,
            # and closing the duplicate leaves psycopg's own descriptor to psycopg.
            with socket.socket(fileno=os.dup(fd)) as sock:
                sock.shutdown(socket.SHUT_RDWR)
            logger.warning("no answer from the database within %.1f s: connection cut", limit)
        except (OSError, psycopg.Error):
            logger.debug("connection already gone when its deadline passed", exc_info=True)
