"""Tables: users, products, carts and cart items, every constraint and index named.

The adapters map integrity violations to domain errors by these names, so they are stable.
Blank means made only of ASCII white space (space, tab, CR, LF, FF, VT), the same rule the
domain applies before any SQL runs. VT is written \x0b: PostgreSQL's E'' strings have no \v
(it would be a plain "v", and names like "vv" would count as blank).

Lint exceptions (squawk), each marked on the line it applies to:
- prefer-text-field: the design fixes VARCHAR(50/254/255), mirrored by the domain's length
  rules. Squawk's concern is a later resize locking the table; these tables are created here,
  empty, and a resize would come as a new migration of its own.
- prefer-bigint-over-int: inventory, version and quantity are INTEGER by design; the domain
  refuses values past 2,147,483,647 and an overflowing increment is a clear InvalidInput.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE users (
            id BIGINT GENERATED ALWAYS AS IDENTITY CONSTRAINT users_pkey PRIMARY KEY,
            -- squawk-ignore prefer-text-field
            username VARCHAR(50) NOT NULL
                CONSTRAINT users_username_length_check
                CHECK (char_length(username) BETWEEN 3 AND 50),
            -- squawk-ignore prefer-text-field
            email VARCHAR(254) NOT NULL,
            -- squawk-ignore prefer-text-field
            password_hash VARCHAR(255) NOT NULL
                CONSTRAINT users_password_hash_not_empty_check CHECK (password_hash <> ''),
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));
        CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
        CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON users
            FOR EACH ROW EXECUTE FUNCTION set_updated_at();

        CREATE TABLE products (
            id BIGINT GENERATED ALWAYS AS IDENTITY CONSTRAINT products_pkey PRIMARY KEY,
            -- squawk-ignore prefer-text-field
            name VARCHAR(255) NOT NULL
                CONSTRAINT products_name_not_blank_check
                CHECK (btrim(name, E' \\t\\n\\r\\f\\x0B') <> ''),
            description TEXT,
            price NUMERIC(10, 2) NOT NULL
                CONSTRAINT products_price_non_negative_check CHECK (price >= 0)
                CONSTRAINT products_price_not_nan_check CHECK (price <> 'NaN'::numeric),
            -- squawk-ignore prefer-bigint-over-int
            inventory_count INTEGER NOT NULL DEFAULT 0
                CONSTRAINT products_inventory_count_non_negative_check CHECK (inventory_count >= 0),
            -- squawk-ignore prefer-bigint-over-int
            version INTEGER NOT NULL DEFAULT 1
                CONSTRAINT products_version_positive_check CHECK (version >= 1),
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE TRIGGER products_set_updated_at BEFORE UPDATE ON products
            FOR EACH ROW EXECUTE FUNCTION set_updated_at();

        CREATE TABLE carts (
            id BIGINT GENERATED ALWAYS AS IDENTITY CONSTRAINT carts_pkey PRIMARY KEY,
            user_id BIGINT NOT NULL
                CONSTRAINT carts_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE INDEX carts_user_id_idx ON carts (user_id);
        CREATE TRIGGER carts_set_updated_at BEFORE UPDATE ON carts
            FOR EACH ROW EXECUTE FUNCTION set_updated_at();

        CREATE TABLE cart_items (
            id BIGINT GENERATED ALWAYS AS IDENTITY CONSTRAINT cart_items_pkey PRIMARY KEY,
            cart_id BIGINT NOT NULL
                CONSTRAINT cart_items_cart_id_fkey REFERENCES carts (id) ON DELETE CASCADE,
            product_id BIGINT NOT NULL
                CONSTRAINT cart_items_product_id_fkey REFERENCES products (id) ON DELETE CASCADE,
            -- squawk-ignore prefer-bigint-over-int
            quantity INTEGER NOT NULL DEFAULT 1
                CONSTRAINT cart_items_quantity_positive_check CHECK (quantity > 0),
            CONSTRAINT cart_items_cart_id_product_id_key UNIQUE (cart_id, product_id)
        );
        CREATE INDEX cart_items_product_id_idx ON cart_items (product_id);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE cart_items;
        DROP TABLE carts;
        DROP TABLE products;
        DROP TABLE users;
        """
    )
