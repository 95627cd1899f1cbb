"""The schema's rules that the in-memory adapter enforces, by the names the migrations give them.

Each repository lists the rules of its tables (ENFORCED, in its module); this joins them. A test
compares them with what PostgreSQL reports for the migrated schema, so a rule added by a
migration fails the build until the fake enforces it too and lists it."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from ports.unit_of_work import aggregates

ENFORCED: Final[Mapping[str, str]] = MappingProxyType(
    {
        name: how
        for aggregate in aggregates()
        for name, how in importlib.import_module(f"adapters.memory.{aggregate}").ENFORCED.items()
    }
)
