"""Orders: what a checkout sold, kept for good; and timestamps on cart items.

`orders` holds one row per checkout, unique per user and idempotency key, so a checkout
repeated with the same key finds the order it made instead of selling twice. `order_lines`
keep the product's name and unit price as sold: later changes to the product do not alter
them. Deleting a user or a product that appears in an order is refused (ON DELETE RESTRICT):
history is never lost. cart_items gains created_at/updated_at: DEFAULT now() is STABLE, so
PostgreSQL 11+ stores it once instead of rewriting the table.

`total` is NUMERIC(30, 2): a line is at most 99,999,999.99 x 2,147,483,647 (under 2.2e17)
and a cart holds at most 1,000 lines (domain.values.CART_LINES_MAX), so a total stays under
2.2e20, 21 digits before the point; 28 leave room for a larger cap without a migration.

Lint exceptions (squawk), each marked on the line it applies to:
- prefer-text-field: product_name copies products.name, VARCHAR(255) by design.
- prefer-bigint-over-int: quantity is INTEGER, as cart_items.quantity it comes from.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE orders (
            id BIGINT GENERATED ALWAYS AS IDENTITY CONSTRAINT orders_pkey PRIMARY KEY,
            user_id BIGINT NOT NULL
                CONSTRAINT orders_user_id_fkey REFERENCES users (id) ON DELETE RESTRICT,
            idempotency_key TEXT NOT NULL
                CONSTRAINT orders_idempotency_key_length_check
                CHECK (char_length(idempotency_key) BETWEEN 1 AND 100),
            status TEXT NOT NULL DEFAULT 'placed'
                CONSTRAINT orders_status_check CHECK (status IN ('placed')),
            total NUMERIC(30, 2) NOT NULL
                CONSTRAINT orders_total_non_negative_check CHECK (total >= 0),
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            CONSTRAINT orders_user_id_idempotency_key_key UNIQUE (user_id, idempotency_key)
        );
        CREATE INDEX orders_user_id_id_idx ON orders (user_id, id);
        CREATE TRIGGER orders_set_updated_at BEFORE UPDATE ON orders
            FOR EACH ROW EXECUTE FUNCTION set_updated_at();

        CREATE TABLE order_lines (
            id BIGINT GENERATED ALWAYS AS IDENTITY CONSTRAINT order_lines_pkey PRIMARY KEY,
            order_id BIGINT NOT NULL
                CONSTRAINT order_lines_order_id_fkey REFERENCES orders (id) ON DELETE CASCADE,
            product_id BIGINT NOT NULL
                CONSTRAINT order_lines_product_id_fkey REFERENCES products (id)
                ON DELETE RESTRICT,
            -- squawk-ignore prefer-text-field
            product_name VARCHAR(255) NOT NULL,
            unit_price NUMERIC(10, 2) NOT NULL
                CONSTRAINT order_lines_unit_price_non_negative_check CHECK (unit_price >= 0),
            -- squawk-ignore prefer-bigint-over-int
            quantity INTEGER NOT NULL
                CONSTRAINT order_lines_quantity_positive_check CHECK (quantity > 0),
            CONSTRAINT order_lines_order_id_product_id_key UNIQUE (order_id, product_id)
        );
        CREATE INDEX order_lines_product_id_idx ON order_lines (product_id);

        ALTER TABLE cart_items ADD COLUMN created_at TIMESTAMPTZ NOT NULL DEFAULT now();
        ALTER TABLE cart_items ADD COLUMN updated_at TIMESTAMPTZ NOT NULL DEFAULT now();
        CREATE TRIGGER cart_items_set_updated_at BEFORE UPDATE ON cart_items
            FOR EACH ROW EXECUTE FUNCTION set_updated_at();
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TRIGGER cart_items_set_updated_at ON cart_items;
        ALTER TABLE cart_items DROP COLUMN updated_at;
        ALTER TABLE cart_items DROP COLUMN created_at;
        DROP TABLE order_lines;
        DROP TABLE orders;
        """
    )
