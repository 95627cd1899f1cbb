"""Entities from rows of our own schema, which enforces the same rules the models validate.

Validating a row again would cost more than fetching it, and `model_construct` costs about 5 µs
an entity (it resolves defaults field by field); a cart of five lines is six entities. Here the
instance's four pydantic slots are set directly, as `model_construct` does in the end: under
1 µs. A test holds every entity built here equal to a validated one, field for field, and in
the same field order (repr and dumps follow it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_new = object.__new__
_set = object.__setattr__
_slots = vars(BaseModel)
_set_fields_set = _slots["__pydantic_fields_set__"].__set__
_set_extra = _slots["__pydantic_extra__"].__set__
_set_private = _slots["__pydantic_private__"].__set__


def trusted(model: type[M], values: dict[str, Any]) -> M:
    """`model` holding `values`: every field, already valid, in the model's field order."""
    entity = _new(model)
    _set(entity, "__dict__", values)
    _set_fields_set(entity, set(values))
    _set_extra(entity, None)
    _set_private(entity, None)
    return entity


def column_names(select_list: str) -> list[str]:
    """The names of the columns a SELECT list yields: `x.name` and `expression AS name`."""
    return [item.split(" AS ")[-1].split(".")[-1].strip() for item in select_list.split(",")]


def columns(model: type[BaseModel], select_list: str, *, nested: tuple[str, ...] = ()) -> str:
    """`select_list` after checking that its columns are `model`'s fields in field order (but
    the `nested` ones, which other rows fill): rows of such a list map to entities by position.
    Checked at import, so a field added to or moved in the model fails every test at once."""
    fields = [name for name in model.model_fields if name not in nested]
    if column_names(select_list) != fields or not set(nested) <= set(model.model_fields):
        raise ValueError(f"{select_list!r} are not the fields of {model.__name__} in order")
    return select_list


def mapper(model: type[M]) -> Callable[[Sequence[Any]], M]:
    """Makes `model` entities from rows whose columns are its fields, in field order."""
    fields = tuple(model.model_fields)
    every_field = frozenset(fields)

    def entity(row: Sequence[Any]) -> M:  # `trusted`, inlined: it runs for every row
        built = _new(model)
        # Not strict: `columns` checked each SELECT list against the fields at import.
        _set(built, "__dict__", dict(zip(fields, row, strict=False)))
        _set_fields_set(built, set(every_field))
        _set_extra(built, None)
        _set_private(built, None)
        return built

    return entity
