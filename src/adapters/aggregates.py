"""The one list of aggregates is the `UnitOfWork` port: each of its annotations names an aggregate
and its repository port. An adapter's unit of work subclasses the port and `Repositories`:

    class MemoryUnitOfWork(Repositories[MemoryTransaction], UnitOfWork): ...

and gets one attribute per aggregate, found by name: the repository of `orders` is the class
`Memory` + `OrderRepository` in the module `orders` of the unit of work's own package (for an
async unit of work, `AsyncMemory` + `OrderRepository` in `orders_async`). A
repository missing there fails as the unit of work's module is imported. A repository is made
on first use in a block, bound to what that block's repositories share (the session), so a
point read makes one repository, not one per aggregate."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

from ports.unit_of_work import aggregates

S = TypeVar("S")
R = TypeVar("R")


class Repository(Generic[S, R]):
    """The attribute of a unit of work through which one aggregate's repository is reached."""

    __slots__ = ("make", "name")

    def __init__(self, make: Callable[[S], R], name: str = "") -> None:
        self.make = make
        self.name = name

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, uow: None, owner: type | None = None) -> Repository[S, R]: ...

    @overload
    def __get__(self, uow: Repositories[S], owner: type | None = None) -> R: ...

    def __get__(
        self, uow: Repositories[S] | None, owner: type | None = None
    ) -> Repository[S, R] | R:
        if uow is None:
            return self
        made = uow._made
        found: R | None = made.get(self.name)
        if found is None:
            found = made[self.name] = self.make(uow._session)
        return found


class Repositories(Generic[S]):
    """Base of a unit of work: `_session` is what its repositories share; `_made` the
    repositories made in the current block (a new dict for each block)."""

    __slots__ = ("_made", "_session")

    _made: dict[str, Any]
    _session: S

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        prefix = cls.__name__.removesuffix("UnitOfWork")
        package, _, module = cls.__module__.rpartition(".")
        # An async unit of work (module `unit_of_work_async`, class `AsyncPostgresUnitOfWork`)
        # finds `AsyncPostgresCartRepository` in `carts_async`.
        suffix = "_async" if module.endswith("_async") else ""
        for name, port in aggregates().items():
            made = implementation(package, name + suffix, prefix + port.__name__)
            setattr(cls, name, Repository(made, name))


def implementation(package: str, aggregate: str, class_name: str) -> Callable[[Any], Any]:
    """The repository class `class_name` of the module `package.aggregate`."""
    where = f"{package}.{aggregate}"
    try:
        module = importlib.import_module(where)
    except ModuleNotFoundError as exc:
        if exc.name != where:
            raise
        raise TypeError(f"no module {where}: the repository of {aggregate!r} goes there") from None
    found = getattr(module, class_name, None)
    if not isinstance(found, type):
        raise TypeError(f"{where} defines no class {class_name}, the repository of {aggregate!r}")
    return found


def declared_repositories(cls: type) -> dict[str, Repository[Any, Any]]:
    """The repositories a unit-of-work class reaches, by name."""
    return {
        name: value
        for name, value in inspect.getmembers_static(cls)
        if isinstance(value, Repository)
    }
