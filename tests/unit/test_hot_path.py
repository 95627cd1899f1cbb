"""The objects every PostgreSQL unit of work builds keep their attributes in slots.

CPython 3.11 always specializes a read or write of a slot (LOAD_ATTR_SLOT, STORE_ATTR_SLOT). A
read of a default kept on the class that the instance never set, or of an attribute set on some
instances and not on others, misses the specialized paths and takes the generic lookup. With
such defaults on the session and the unit of work, a point read ran as many client
instructions as without them and still took ~3 µs longer (more mispredicted branches and cache
misses under callgrind's simulation). A class here that gains a `__dict__`, through a subclass
without `__slots__` or a slot dropped for a default, fails this test."""

from __future__ import annotations

import pytest

from adapters.postgres.carts import PostgresCartRepository
from adapters.postgres.orders import PostgresOrderRepository
from adapters.postgres.pool import Tended
from adapters.postgres.products import PostgresProductRepository
from adapters.postgres.session import Session
from adapters.postgres.unit_of_work import _INACTIVE, PostgresUnitOfWork
from adapters.postgres.users import PostgresUserRepository
from domain.errors import UnitOfWorkNotActive

PER_UNIT_OF_WORK = [
    PostgresUnitOfWork,
    Session,
    type(_INACTIVE),
    Tended,
    PostgresUserRepository,
    PostgresProductRepository,
    PostgresCartRepository,
    PostgresOrderRepository,
]


@pytest.mark.parametrize("cls", PER_UNIT_OF_WORK, ids=lambda cls: cls.__name__)
def test_instances_have_slots_and_no_dict(cls: type) -> None:
    without = [k.__name__ for k in cls.__mro__[:-1] if "__slots__" not in vars(k)]
    assert without == [], f"{cls.__name__}: no __slots__ in {without}"
    assert not hasattr(object.__new__(cls), "__dict__")


def test_the_inactive_session_answers_what_a_refusal_reads() -> None:
    # The one session built without a connection: what the unit of work and the repositories
    # read before they refuse is set, the rest (conn, cur) is left unset on purpose.
    assert (_INACTIVE.active, _INACTIVE.busy, _INACTIVE.read_only) == (False, False, True)
    assert _INACTIVE.probe is None
    assert type(_INACTIVE.refusal()) is UnitOfWorkNotActive
