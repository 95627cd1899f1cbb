"""Every use of a dependency's private API, each with a public fallback chosen on its own.

Two remain, both on measured hot paths (docs in performance notes and the tests named below):

- pydantic: entities from rows of our own schema are built by setting `BaseModel`'s instance
  slots, as `model_construct` does in the end, at a third of its cost. Fallback:
  `model_construct`. Chosen when the slots are the ones verified here and setting them gives
  what `model_construct` gives (checked at import on a probe model).
- psycopg_pool: `newest_first` hands out the connection given back last by turning the pool's
  ready deque in its `_get_ready_connection`. Fallback: psycopg_pool's own order (the oldest
  returned first). Chosen when the method exists with the signature verified here.

tests/unit/test_dependency_internals.py runs both paths; tests/unit/test_private_api.py fails on
a private attribute of a dependency used anywhere else in src.
"""

from __future__ import annotations

import inspect
import logging
from collections import deque
from collections.abc import Callable, Sequence
from types import MemberDescriptorType
from typing import Any, TypeVar

from psycopg_pool import ConnectionPool
from pydantic import BaseModel

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
P = TypeVar("P", bound=ConnectionPool[Any])

# -- pydantic ----------------------------------------------------------------------------------

SLOTS = ("__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")
_new = object.__new__
_set = object.__setattr__
Setters = tuple[Callable[[Any, Any], None], ...]


def slot_setters(base: type[BaseModel] = BaseModel) -> Setters | None:
    """The setters of `base`'s fields-set, extra and private slots, or None when `base` keeps
    its instance state elsewhere (then `model_construct` is the way)."""
    if getattr(base, "__slots__", None) != ("__dict__", *SLOTS):
        return None
    descriptors = [vars(base).get(name) for name in SLOTS]
    if not all(isinstance(d, MemberDescriptorType) for d in descriptors):
        return None
    setters = tuple(d.__set__ for d in descriptors)  # type: ignore[union-attr]

    class Probe(base):  # type: ignore[valid-type,misc]
        number: int
        text: str = "default"

    values = {"number": 1, "text": "given"}
    fast = _new(Probe)
    _set(fast, "__dict__", dict(values))
    for setter, value in zip(setters, (set(values), None, None), strict=True):
        setter(fast, value)
    public = Probe.model_construct(**values)
    for name in ("__dict__", *SLOTS):
        if getattr(fast, name, None) != getattr(public, name, None):
            return None
    return setters


SLOT_SETTERS = slot_setters()


def fast_path(model: type[BaseModel], setters: Setters | None) -> bool:
    """Whether entities of `model` can be built through the slots: not for a model with private
    attributes or extra fields, which `model_construct` fills in."""
    return (
        setters is not None
        and not model.__private_attributes__
        and model.model_config.get("extra") != "allow"
    )


_PLAIN: dict[type[BaseModel], bool] = {}  # fast_path(model, SLOT_SETTERS), per model


def trusted(model: type[M], values: dict[str, Any], setters: Setters | None = SLOT_SETTERS) -> M:
    """`model` holding `values` without validation: every field, already valid, in field order."""
    plain = _PLAIN.get(model) if setters is SLOT_SETTERS else None
    if plain is None:
        plain = fast_path(model, setters)
        if setters is SLOT_SETTERS:
            _PLAIN[model] = plain
    if not plain or setters is None:
        return model.model_construct(**values)
    entity = _new(model)
    _set(entity, "__dict__", values)
    set_fields, set_extra, set_private = setters
    set_fields(entity, set(values))
    set_extra(entity, None)
    set_private(entity, None)
    return entity


def row_mapper(
    model: type[M], setters: Setters | None = SLOT_SETTERS
) -> Callable[[Sequence[Any]], M]:
    """Makes `model` entities from rows whose columns are its fields, in field order."""
    fields = tuple(model.model_fields)
    if not fast_path(model, setters):
        construct = model.model_construct

        def constructed(row: Sequence[Any]) -> M:
            return construct(**dict(zip(fields, row, strict=False)))

        return constructed
    assert setters is not None
    set_fields, set_extra, set_private = setters
    every_field = frozenset(fields)

    def entity(row: Sequence[Any]) -> M:  # `trusted`, inlined: it runs for every row
        built = _new(model)
        # Not strict: rows.columns checked each SELECT list against the fields at import.
        _set(built, "__dict__", dict(zip(fields, row, strict=False)))
        set_fields(built, set(every_field))
        set_extra(built, None)
        set_private(built, None)
        return built

    return entity


# -- psycopg_pool ------------------------------------------------------------------------------


def has_order_hook(pool_class: type[ConnectionPool[Any]] = ConnectionPool) -> bool:
    """Whether `pool_class` takes its ready connections in `_get_ready_connection(timeout)`, the
    method `newest_first` overrides."""
    method = getattr(pool_class, "_get_ready_connection", None)
    if not callable(method):
        return False
    try:
        parameters = list(inspect.signature(method).parameters)
    except (TypeError, ValueError):
        return False
    return parameters == ["self", "timeout"]


ORDER_HOOK = has_order_hook()


def newest_first(pool_class: type[P], hook: bool = ORDER_HOOK) -> type[P]:
    """`pool_class`, handing out the connection given back last (see pool.LifoConnectionPool);
    `pool_class` itself, in psycopg_pool's order, when the hook is not there."""
    if not hook:
        logger.info("psycopg_pool has no ordering hook: connections are handed out in turn")
        return pool_class

    class NewestFirst(pool_class):  # type: ignore[valid-type,misc]
        def _get_ready_connection(self, timeout: float | None) -> Any:
            # psycopg_pool takes from the left and gives back on the right: the newest to the
            # front, under the pool's lock; the rest keep their order.
            ready = getattr(self, "_pool", None)
            if isinstance(ready, deque) and len(ready) > 1:
                ready.rotate(1)
            return super()._get_ready_connection(timeout)

    NewestFirst.__name__ = NewestFirst.__qualname__ = f"NewestFirst{pool_class.__name__}"
    return NewestFirst
