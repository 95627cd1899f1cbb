"""The schema's rules that the in-memory adapter enforces, by the names the migrations give them.

A test compares this with what PostgreSQL reports for the migrated schema, so a rule added by a
migration fails the build until the fake enforces it too and is listed here."""

from __future__ import annotations

from typing import Final

ENFORCED: Final[dict[str, str]] = {
    "cart_items_lines_max_check": "MemoryCartRepository: CART_LINES_MAX, under the writer lock",
    "users_pkey": "MemoryDatabase.next_id: ids are drawn once, never reused",
    "users_username_length_check": "domain.values.Username: 3 to 50 characters",
    "users_password_hash_not_empty_check": "domain.values.PasswordHash: 1 to 255 characters",
    "users_password_hash_archived_check": "MemoryUserRepository.delete keeps no hash",
    "users_username_lower_key": "Tables.usernames: live users' lowered usernames, as keys",
    "users_email_lower_key": "Tables.emails: live users' lowered emails (add, change_email)",
    "products_pkey": "MemoryDatabase.next_id",
    "products_name_not_blank_check": "domain.values.not_blank, same white space as btrim",
    "products_price_non_negative_check": "domain.values.Price: ge=0",
    "products_price_not_nan_check": "domain.values.money: finite amounts only",
    "products_inventory_count_non_negative_check": "domain.values.Inventory, and reserve",
    "products_version_positive_check": "domain.values.Version; versions start at 1",
    "products_description_length_check": "domain.values.Description: at most 10,000 characters",
    "carts_pkey": "MemoryDatabase.next_id",
    "carts_user_id_fkey": "get_or_create checks the user; users.delete drops carts",
    "orders_pkey": "MemoryDatabase.next_id",
    "orders_user_id_fkey": "place takes the user of a cart; users.delete archives",
    "orders_idempotency_key_length_check": "domain.values.IdempotencyKey: 1 to 100 characters",
    "orders_status_check": "domain.model.OrderStatus: placed",
    "orders_total_non_negative_check": "the sum of non-negative prices times quantities",
    "orders_user_id_idempotency_key_key": "place returns the order of a key it has seen",
    "order_lines_pkey": "MemoryDatabase.next_id",
    "order_lines_order_id_fkey": "place writes lines of the order it writes",
    "order_lines_product_id_fkey": "products.delete archives, never removes",
    "order_lines_unit_price_non_negative_check": "copied from a Price",
    "order_lines_quantity_positive_check": "copied from a cart line's Quantity",
    "order_lines_order_id_product_id_key": "a cart holds one line per product",
    "cart_items_pkey": "MemoryDatabase.next_id",
    "cart_items_cart_id_fkey": "add_item checks the cart; users.delete drops items",
    "cart_items_product_id_fkey": "add_item checks the product; products.delete drops lines",
    "cart_items_quantity_positive_check": "domain.values.Quantity",
    "cart_items_cart_id_product_id_key": "add_item merges into the existing line",
}
