# Generated from observed_async.py (tools/generate_sync.py): edit that instead.
"""Marks a service method as a use case, observed (logged, traced) when an observer listens."""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar, cast

from ports.observation import Observer

F = TypeVar("F", bound=Callable[..., Any])


class Unobserved:
    """The default observer: nobody listens."""

    def use_case(self, name: str) -> AbstractContextManager[object] | None:
        return None


UNOBSERVED: Observer = Unobserved()


class Service(Protocol):
    _observer: Observer


def use_case(method: F) -> F:
    """Run `method` inside its observer's observation, named `Class.method`."""
    name = method.__qualname__

    @functools.wraps(method)
    def run(self: Service, *args: Any, **kwargs: Any) -> Any:
        observation = self._observer.use_case(name)
        if observation is None:
            return method(self, *args, **kwargs)
        with observation:
            return method(self, *args, **kwargs)

    return cast(F, run)
