"""Marks a service method as a use case, observed (logged, traced) when an observer listens."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from typing import Any, ParamSpec, Protocol, TypeAlias, TypeVar, cast

from ports.observation import Observer

if True:  # ASYNC
    P = ParamSpec("P")
    R = TypeVar("R")
    # A function whose result is awaited: the sync module's `Callable` in its annotations.
    AsyncCallable: TypeAlias = Callable[P, Awaitable[R]]
F = TypeVar("F", bound=AsyncCallable[..., Any])


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
    async def run(self: Service, *args: Any, **kwargs: Any) -> Any:
        observation = self._observer.use_case(name)
        if observation is None:
            return await method(self, *args, **kwargs)
        with observation:
            return await method(self, *args, **kwargs)

    return cast(F, run)
