"""Archiving (soft delete) of users and products: history is never lost.

`deleted_at` on `users` and `products` marks a row archived: the adapters never show it again
(get, search, carts, logins), while the orders that name it stay as they were. Deleting
through the ports always archives, whether or not the row appears in an order, so every user
and product that ever existed stays on record for audits. A hard DELETE of a row that appears
in an order is still refused by the foreign keys of 0006 (ON DELETE RESTRICT).

An archived user keeps its username and email for the record, but not its password hash:
`users_password_hash_archived_check` holds every active user to a hash and every archived one
to none, so an archived account can never be logged into, whatever a caller does.

The unique rules on usernames and emails become partial (`WHERE deleted_at IS NULL`), under
the same names, so an archived user's username and email can be registered again. No other
unique rule needs this: `orders_user_id_idempotency_key_key`, `order_lines_order_id_product_id_key`
and `cart_items_cart_id_product_id_key` concern rows that archiving never touches (orders) or
deletes (the lines of an archived product, the carts of an archived user).

The search indexes of 0003 and 0005 are left as they are: the search adds `deleted_at IS NULL`
as one more filter, checked on the rows the index walk finds.

Lint exceptions (squawk), each marked on the line it applies to:
- ban-drop-not-null: only archived rows have no password hash (the check below), and no
  adapter ever reads an archived user, so no client meets a NULL.
- require-concurrent-index-deletion: alembic runs every revision in one transaction, where
  CONCURRENTLY is not allowed; each index is dropped and built again in that transaction, so
  no moment exists without the rule. Building costs what building the old index did.
- constraint-missing-not-valid: as in 0004, the check is added NOT VALID and validated in the
  same transaction, so a failed validation leaves nothing behind. No row is archived before
  this revision, so every row passes.

The downgrade refuses (changing nothing) while any row is archived: 0006 has no way to keep an
archived row out of sight, and an archived user's username or email may be in use again.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE users ADD COLUMN deleted_at TIMESTAMPTZ;
        ALTER TABLE products ADD COLUMN deleted_at TIMESTAMPTZ;

        -- squawk-ignore ban-drop-not-null
        ALTER TABLE users ALTER COLUMN password_hash DROP NOT NULL;
        ALTER TABLE users ADD CONSTRAINT users_password_hash_archived_check
            CHECK ((password_hash IS NULL) = (deleted_at IS NOT NULL)) NOT VALID;
        -- squawk-ignore constraint-missing-not-valid
        ALTER TABLE users VALIDATE CONSTRAINT users_password_hash_archived_check;

        -- squawk-ignore require-concurrent-index-deletion
        DROP INDEX users_username_lower_key;
        CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username))
            WHERE deleted_at IS NULL;
        -- squawk-ignore require-concurrent-index-deletion
        DROP INDEX users_email_lower_key;
        CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email))
            WHERE deleted_at IS NULL;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DO $$
        BEGIN
            IF EXISTS (SELECT FROM users WHERE deleted_at IS NOT NULL)
                OR EXISTS (SELECT FROM products WHERE deleted_at IS NOT NULL) THEN
                RAISE EXCEPTION 'archived users or products exist: 0006 cannot hold them';
            END IF;
        END
        $$;
        DROP INDEX users_email_lower_key;
        CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
        DROP INDEX users_username_lower_key;
        CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));
        ALTER TABLE users DROP CONSTRAINT users_password_hash_archived_check;
        ALTER TABLE users ALTER COLUMN password_hash SET NOT NULL;
        ALTER TABLE products DROP COLUMN deleted_at;
        ALTER TABLE users DROP COLUMN deleted_at;
        """
    )
