"""Every named constraint of the schema: the repository whose map turns it into a domain error, or
why none does. A test holds this equal to the migrated schema's constraints
(tests/contract/test_constraint_errors.py), so a constraint a migration adds fails the build
until a repository maps it (beside the SQL that can violate it) or it is listed as unmapped."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from adapters.postgres.errors import ConstraintError, ConstraintErrors
from ports.unit_of_work import aggregates


def _of_each_repository(name: str) -> dict[str, Any]:
    """The attribute `name` of each repository's module, by aggregate."""
    return {
        aggregate: getattr(importlib.import_module(f"adapters.postgres.{aggregate}"), name)
        for aggregate in aggregates()
    }


# Each repository keeps its map beside its SQL (CONSTRAINT_ERRORS), and its unmapped ones.
BY_REPOSITORY: Final[Mapping[str, ConstraintErrors]] = _of_each_repository("CONSTRAINT_ERRORS")


def _joined(maps: Mapping[str, ConstraintErrors]) -> ConstraintErrors:
    joined: dict[str, ConstraintError] = {}
    for repository, errors in maps.items():
        if twice := joined.keys() & errors.keys():
            raise ValueError(f"mapped by {repository} and another repository: {sorted(twice)}")
        joined.update(errors)
    return MappingProxyType(joined)


# What translation looks up, whichever repository's statement failed.
BY_CONSTRAINT: Final[ConstraintErrors] = _joined(BY_REPOSITORY)

UNMAPPED: Final[Mapping[str, str]] = MappingProxyType(
    {
        name: reason
        for unmapped in _of_each_repository("UNMAPPED").values()
        for name, reason in unmapped.items()
    }
)
