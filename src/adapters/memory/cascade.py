"""Deleting a row as PostgreSQL does: by the foreign keys declared in adapters.schema.

Repositories delete through `delete` only, so what a deletion takes along or is refused by is
decided in one place, from the same declaration a test holds equal to the migrated schema's
ON DELETE actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from adapters.schema import FOREIGN_KEYS
from domain.errors import DomainError, StorageUnavailable

if TYPE_CHECKING:
    from adapters.memory.database import Tables


def _history(key: str) -> Callable[[int], DomainError]:
    # What PostgreSQL's refusal becomes there: an unmapped constraint, a database error. No
    # repository deletes a user or a product (they are archived), so only a bug reaches it.
    return lambda row_id: StorageUnavailable(f"row {row_id} is referenced by {key}: not deleted")


# The error a restricting foreign key refuses a deletion with, from the referenced row's id,
# where it is not the database error every other one gives.
REFUSALS: Final[dict[str, Callable[[int], DomainError]]] = {}


def delete(tables: Tables, table: str, row_id: int) -> None:
    """Delete the row and, by each foreign key referencing `table`, every row referencing it:
    `cascade` deletes them too, `restrict` refuses (its error in REFUSALS). The caller has
    checked that the row exists; on a refusal its unit of work rolls everything back."""
    del tables.rows(table)[row_id]
    for key in FOREIGN_KEYS:
        if key.references != table:
            continue
        referencing = [
            child_id
            for child_id, row in tables.rows(key.table).items()
            if getattr(row, key.column) == row_id
        ]
        if referencing and key.on_delete == "restrict":
            raise REFUSALS.get(key.name, _history(key.name))(row_id)
        for child_id in referencing:
            delete(tables, key.table, child_id)
