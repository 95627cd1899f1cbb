"""Run test workers in threads and re-raise the first failure in the test's own thread: the
sync side of tests/concurrent.py, under the name the thread-only tests import."""

from __future__ import annotations

from tests.concurrent import run_all

__all__ = ["run_all"]
