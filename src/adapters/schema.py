"""The tables the migrations build and their foreign keys: the lists every other one derives from.

The fake's tables and sequences, the application role's grants and the test harness's TRUNCATE
take their tables from here; the fake deletes by the foreign keys declared here. A test holds
both lists equal to the migrated schema's (tests/contract/test_schema_lists.py), so a table or
a foreign key added by a migration fails the build until it is declared here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

# Parents before their children. Every table but the two lookup tables of usernames and emails
# (keyed by the lowered name or address) has an identity column `id`, so each of those also
# names its sequence, `<table>_id_seq`.
TABLES: Final = (
    "users",
    "usernames",
    "emails",
    "products",
    "carts",
    "cart_items",
    "orders",
    "order_lines",
)
LOOKUPS: Final = ("usernames", "emails")
SEQUENCES: Final = tuple(table for table in TABLES if table not in LOOKUPS)

OnDelete = Literal["cascade", "restrict"]


@dataclass(frozen=True)
class ForeignKey:
    """`table.column` references `references.id`; deleting the referenced row cascades to the
    referencing rows or is refused while there are any. Between two tables of a user's rows the
    key is (user_id, column) -> (user_id, id), so that a cluster holds both rows on one node
    (see DISTRIBUTION); `column` is the one that names the parent."""

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


# How `shopdb distribute` spreads each table over a Citus cluster (docs/scale-out.md): a table
# copied to every node (None), or distributed by a column, co-located with the table named
# (whose shards of a key are on the same node). A user's rows are distributed by user id, so
# each statement about one user runs on one node; the lookup tables by their key, so a unique
# name or address is checked on the node that holds it. In this order: each after the table it
# is co-located with.
@dataclass(frozen=True)
class Distribution:
    table: str
    column: str | None  # None: a reference table, copied to every node
    colocate_with: str | None = None


DISTRIBUTION: Final = (
    Distribution("products", None),
    Distribution("users", "id"),
    Distribution("carts", "user_id", "users"),
    Distribution("cart_items", "user_id", "users"),
    Distribution("orders", "user_id", "users"),
    Distribution("order_lines", "user_id", "users"),
    Distribution("usernames", "username_lower"),
    Distribution("emails", "email_lower", "usernames"),
)
