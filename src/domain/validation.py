"""Turn pydantic's validation report into the domain's InvalidInput, without echoing inputs."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from domain.errors import InvalidInput
from domain.values import Id, Quantity

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def _problems(exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors(include_input=False):
        where = ".".join(str(part) for part in error["loc"]) or "value"
        problems.append(f"{where}: {error['msg'].removeprefix('Value error, ')}")
    return problems


def build(model: type[M], **data: Any) -> M:
    """Construct `model` from `data`, raising InvalidInput that names each bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(*_problems(exc)) from None


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def check(value: T, kind: Any, name: str) -> T:
    """Validate one value against an annotated type such as `Quantity`."""
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        adapter = _ADAPTERS[kind] = TypeAdapter(kind)
    try:
        result: T = adapter.validate_python(value)
    except ValidationError as exc:
        raise InvalidInput(*(f"{name}: {p.split(': ', 1)[1]}" for p in _problems(exc))) from None
    return result


def quantity(value: int, name: str = "quantity") -> int:
    return check(value, Quantity, name)


def identifier(value: int, name: str = "id") -> int:
    return check(value, Id, name)
