"""The one list of aggregates is the `UnitOfWork` port: each of its properties is a repository.
An adapter's unit of work declares, for each, the class that implements it, one line each:

    class MemoryUnitOfWork(Repositories[MemoryTransaction]):
        users = Repository(MemoryUserRepository)

and a unit of work that leaves one out, or declares one the port does not have, fails when its
module is imported. A repository is made on first use in a block, bound to what that block's
repositories share (the session), so a point read makes one repository, not one per aggregate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

from ports.unit_of_work import aggregates

S = TypeVar("S")
R = TypeVar("R")


class Repository(Generic[S, R]):
    """Declares the repository of one aggregate on a unit-of-work class (see the module)."""

    __slots__ = ("make", "name")

    def __init__(self, make: Callable[[S], R]) -> None:
        self.make = make
        self.name = ""

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
        declared = set(declared_repositories(cls))
        expected = set(aggregates())
        if declared != expected:
            raise TypeError(
                f"{cls.__name__} declares the repositories {sorted(declared)}, while the"
                f" UnitOfWork port has {sorted(expected)}: declare each with Repository(...)"
            )


def declared_repositories(cls: type) -> dict[str, Repository[Any, Any]]:
    """The repositories a unit-of-work class declares, by name."""
    return {
        name: value
        for klass in reversed(cls.__mro__)
        for name, value in vars(klass).items()
        if isinstance(value, Repository)
    }
