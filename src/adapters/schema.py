"""The tables the migrations build and their foreign keys: the lists every other one derives from.

The fake's tables and sequences, the application role's grants and the test harness's TRUNCATE
take their tables from here; the fake deletes by the foreign keys declared here. A test holds
both lists equal to the migrated schema's (tests/contract/test_schema_lists.py), so a table or
a foreign key added by a migration fails the build until it is declared here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

# Parents before their children. Every table has an identity column `id`, so each also names
# its sequence, `<table>_id_seq`.
TABLES: Final = ("users", "products", "carts", "cart_items", "orders", "order_lines")
SEQUENCES: Final = TABLES

OnDelete = Literal["cascade", "restrict"]


@dataclass(frozen=True)
class ForeignKey:
    """`table.column` references `references.id`; deleting the referenced row cascades to the
    referencing rows or is refused while there are any."""

    name: str
    table: str
    column: str
    references: str
    on_delete: OnDelete


FOREIGN_KEYS: Final = (
    ForeignKey("carts_user_id_fkey", "carts", "user_id", "users", "cascade"),
    ForeignKey("cart_items_cart_id_fkey", "cart_items", "cart_id", "carts", "cascade"),
    ForeignKey("cart_items_product_id_fkey", "cart_items", "product_id", "products", "cascade"),
    # Order history is never lost: a user or product that was ordered stays.
    ForeignKey("orders_user_id_fkey", "orders", "user_id", "users", "restrict"),
    ForeignKey("order_lines_order_id_fkey", "order_lines", "order_id", "orders", "cascade"),
    ForeignKey("order_lines_product_id_fkey", "order_lines", "product_id", "products", "restrict"),
)


def children_first() -> tuple[str, ...]:
    """TABLES, each after every table that references it (the order to empty them in)."""
    return tuple(reversed(TABLES))
