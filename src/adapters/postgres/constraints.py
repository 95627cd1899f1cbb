"""Every named constraint of the schema: the repository whose map turns it into a domain error, or
why none does. A test holds this equal to the migrated schema's constraints
(tests/contract/test_constraint_errors.py), so a constraint a migration adds fails the build
until a repository maps it (beside the SQL that can violate it) or it is listed as unmapped."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from adapters.postgres import carts, orders, products, users
from adapters.postgres.errors import ConstraintError, ConstraintErrors

BY_REPOSITORY: Final[Mapping[str, ConstraintErrors]] = {
    "users": users.CONSTRAINT_ERRORS,
    "products": products.CONSTRAINT_ERRORS,
    "carts": carts.CONSTRAINT_ERRORS,
    "orders": orders.CONSTRAINT_ERRORS,
}


def _joined(maps: Mapping[str, ConstraintErrors]) -> ConstraintErrors:
    joined: dict[str, ConstraintError] = {}
    for repository, errors in maps.items():
        if twice := joined.keys() & errors.keys():
            raise ValueError(f"mapped by {repository} and another repository: {sorted(twice)}")
        joined.update(errors)
    return MappingProxyType(joined)


# What translation looks up, whichever repository's statement failed.
BY_CONSTRAINT: Final[ConstraintErrors] = _joined(BY_REPOSITORY)

_IDENTITY = "an identity column: ids are never supplied, so never duplicated"
_CHECK = "a CHECK: InvalidInput by SQLSTATE 23514; the domain refuses such values first"
_ARCHIVED = "users and products are archived, never deleted: it refuses only a hand-written DELETE"
UNMAPPED: Final[Mapping[str, str]] = {
    "users_pkey": _IDENTITY,
    "products_pkey": _IDENTITY,
    "carts_pkey": _IDENTITY,
    "cart_items_pkey": _IDENTITY,
    "orders_pkey": _IDENTITY,
    "order_lines_pkey": _IDENTITY,
    "users_username_length_check": _CHECK,
    "users_password_hash_not_empty_check": _CHECK,
    "users_password_hash_archived_check": "a CHECK that only the archiving statement meets",
    "products_name_not_blank_check": _CHECK,
    "products_price_non_negative_check": _CHECK,
    "products_price_not_nan_check": _CHECK,
    "products_inventory_count_non_negative_check": _CHECK,
    "products_version_positive_check": _CHECK,
    "products_description_length_check": _CHECK,
    "cart_items_quantity_positive_check": _CHECK,
    "orders_idempotency_key_length_check": _CHECK,
    "orders_status_check": _CHECK,
    "orders_total_non_negative_check": _CHECK,
    "order_lines_unit_price_non_negative_check": _CHECK,
    "order_lines_quantity_positive_check": _CHECK,
    "cart_items_cart_id_product_id_key": "every write of a line is an upsert ON CONFLICT of it",
    "order_lines_order_id_product_id_key": "a checkout writes the lines of a cart: one a product",
    "order_lines_order_id_fkey": "lines are written with their order, and orders never deleted",
    "orders_user_id_fkey": _ARCHIVED,
    "order_lines_product_id_fkey": _ARCHIVED,
}
