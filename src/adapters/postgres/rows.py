"""Entities from rows of our own schema, which enforces the same rules the models validate.

Validating a row again would cost more than fetching it: entities are built without it, through
dependency_internals (pydantic's slots, or `model_construct` where those are not as verified). A
test holds every entity built here equal to a validated one, field for field, and in the same
field order (repr and dumps follow it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from adapters.postgres import dependency_internals

M = TypeVar("M", bound=BaseModel)


# `model` holding `values`: every field, already valid, in the model's field order.
trusted = dependency_internals.trusted


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
    return dependency_internals.row_mapper(model)
