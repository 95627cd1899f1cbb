"""One layout for one server and for a Citus cluster: every rule of the schema holds on both.

On Citus (docs/scale-out.md, "A Citus cluster"), `shopdb distribute` makes `products` a
reference table (a copy on every node) and distributes the user's tables by user id, each
shard of one user's rows on one node. This revision gives the schema what that needs, and one
server runs the same schema:

- `carts`, `cart_items`, `orders` and `order_lines` carry `user_id` in every primary key,
  unique key and foreign key between them (a unique key must contain the distribution column,
  and a foreign key between distributed tables must join on it). `cart_items` and
  `order_lines` gain the column, filled from their cart or order. The names stay: the
  adapters map errors by them. `user_id` comes last in each key, so that each index still
  serves what it served (a cart or an order by its id, the lines of a cart); the indexes on
  carts (user_id) and orders (user_id, id) stay for the look-ups by user.
- Usernames and emails are unique among live users through two lookup tables, `usernames`
  and `emails`, keyed by the lowered name or address (distributed by that key, so the unique
  rule holds across nodes: a unique index on users could only hold per user id). The
  statement that writes a user writes its keys too; archiving deletes them, so an archived
  user's username and email can be registered again, as with the partial indexes before.
  Each key's primary key keeps the name of the unique index it replaces.
- The stock rule of cart lines becomes a trigger, `cart_items_stock`, run before a line is
  written (a new one, or its quantity changed): a line over its product's stock on hand, or of
  a product archived or missing, is left out, and the statement returns no row for it, as the
  statements' own conditions did (Citus cannot run those: it sends the subquery on products in
  an upsert's DO UPDATE WHERE to the shard unrenamed). A new line takes its key-share lock on
  the product there, as the statement's FOR KEY SHARE did.
- The cart cap's trigger finds the cart and counts its lines by user id as well. On a Citus
  node both triggers run on a shard of cart_items and read the shards of carts and products on
  that node (a query on the distributed tables from there would be a nested distributed query,
  which Citus refuses); on one server, the tables.
- `products` loses its `updated_at` trigger: on a reference table a trigger runs once per
  copy, each on its own clock, and the copies would differ. Every statement that changes a
  product sets `updated_at = now()` itself (evaluated once, by the coordinator on a cluster).
  A hand-written UPDATE of products must do the same.

Lint exceptions (squawk), each marked on the line it applies to:
- adding-not-nullable-field: the new user_id columns are filled from their cart or order in
  this transaction, then set NOT NULL, which scans each table once under its lock (as the
  UPDATE before it rewrote it). An operator with millions of cart lines or order lines should
  expect about the time of that UPDATE (measure on a copy first).
- ban-drop-constraint: each key is dropped and made again, wider, under the same name in the
  same transaction: no moment exists without the rule, and clients see the same names.
- require-concurrent-index-deletion: as in 0007, alembic runs each revision in one
  transaction, where CONCURRENTLY is not allowed; each unique rule's index goes in the same
  transaction that makes its lookup table.

The downgrade restores 0010's layout (the lookup tables' keys become the partial unique
indexes again; the user_id columns of the lines go).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        DROP TRIGGER products_set_updated_at ON products;

        -- squawk-ignore require-concurrent-index-deletion
        DROP INDEX users_username_lower_key;
        -- squawk-ignore require-concurrent-index-deletion
        DROP INDEX users_email_lower_key;
        CREATE TABLE usernames (
            username_lower TEXT CONSTRAINT users_username_lower_key PRIMARY KEY,
            user_id BIGINT NOT NULL
        );
        CREATE TABLE emails (
            email_lower TEXT CONSTRAINT users_email_lower_key PRIMARY KEY,
            user_id BIGINT NOT NULL
        );
        INSERT INTO usernames (username_lower, user_id)
            SELECT lower(username), id FROM users WHERE deleted_at IS NULL;
        INSERT INTO emails (email_lower, user_id)
            SELECT lower(email), id FROM users WHERE deleted_at IS NULL;

        -- squawk-ignore ban-drop-constraint
        ALTER TABLE cart_items DROP CONSTRAINT cart_items_cart_id_fkey;
        -- squawk-ignore ban-drop-constraint
        ALTER TABLE carts DROP CONSTRAINT carts_pkey;
        ALTER TABLE carts ADD CONSTRAINT carts_pkey PRIMARY KEY (id, user_id);
        ALTER TABLE cart_items ADD COLUMN user_id BIGINT;
        UPDATE cart_items i SET user_id = c.user_id FROM carts c WHERE c.id = i.cart_id;
        -- squawk-ignore adding-not-nullable-field
        ALTER TABLE cart_items ALTER COLUMN user_id SET NOT NULL;
        -- squawk-ignore ban-drop-constraint
        ALTER TABLE cart_items DROP CONSTRAINT cart_items_pkey;
        ALTER TABLE cart_items ADD CONSTRAINT cart_items_pkey PRIMARY KEY (id, user_id);
        -- squawk-ignore ban-drop-constraint
        ALTER TABLE cart_items DROP CONSTRAINT cart_items_cart_id_product_id_key;
        ALTER TABLE cart_items ADD CONSTRAINT cart_items_cart_id_product_id_key
            UNIQUE (cart_id, product_id, user_id);
        ALTER TABLE cart_items ADD CONSTRAINT cart_items_cart_id_fkey
            FOREIGN KEY (user_id, cart_id) REFERENCES carts (user_id, id) ON DELETE CASCADE;

        -- squawk-ignore ban-drop-constraint
        ALTER TABLE order_lines DROP CONSTRAINT order_lines_order_id_fkey;
        -- squawk-ignore ban-drop-constraint
        ALTER TABLE orders DROP CONSTRAINT orders_pkey;
        ALTER TABLE orders ADD CONSTRAINT orders_pkey PRIMARY KEY (id, user_id);
        ALTER TABLE order_lines ADD COLUMN user_id BIGINT;
        UPDATE order_lines l SET user_id = o.user_id FROM orders o WHERE o.id = l.order_id;
        -- squawk-ignore adding-not-nullable-field
        ALTER TABLE order_lines ALTER COLUMN user_id SET NOT NULL;
        -- squawk-ignore ban-drop-constraint
        ALTER TABLE order_lines DROP CONSTRAINT order_lines_pkey;
        ALTER TABLE order_lines ADD CONSTRAINT order_lines_pkey PRIMARY KEY (id, user_id);
        -- squawk-ignore ban-drop-constraint
        ALTER TABLE order_lines DROP CONSTRAINT order_lines_order_id_product_id_key;
        ALTER TABLE order_lines ADD CONSTRAINT order_lines_order_id_product_id_key
            UNIQUE (order_id, product_id, user_id);
        ALTER TABLE order_lines ADD CONSTRAINT order_lines_order_id_fkey
            FOREIGN KEY (user_id, order_id) REFERENCES orders (user_id, id) ON DELETE CASCADE;

        CREATE FUNCTION cart_items_stock() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            stock integer;
        BEGIN
            IF TG_TABLE_NAME = 'cart_items' AND TG_OP = 'INSERT' THEN
                SELECT inventory_count INTO stock FROM products
                    WHERE id = NEW.product_id AND deleted_at IS NULL FOR KEY SHARE;
            ELSIF TG_TABLE_NAME = 'cart_items' THEN
                SELECT inventory_count INTO stock FROM products
                    WHERE id = NEW.product_id AND deleted_at IS NULL;
            ELSE
                -- A shard of cart_items on a Citus node: the copy of products on this node (a
                -- query on the reference table itself, from inside a query on a shard, would
                -- be a distributed query, which Citus refuses).
                EXECUTE format(
                    'SELECT inventory_count FROM %I.%I WHERE id = $1 AND deleted_at IS NULL %s',
                    TG_TABLE_SCHEMA,
                    'products_' || get_shard_id_for_distribution_column('products'),
                    CASE WHEN TG_OP = 'INSERT' THEN 'FOR KEY SHARE' ELSE '' END
                ) INTO stock USING NEW.product_id;
            END IF;
            IF stock IS NULL OR NEW.quantity > stock THEN
                RETURN NULL;  -- not written: the statement returns no row for it
            END IF;
            RETURN NEW;
        END
        $$;
        CREATE TRIGGER cart_items_stock BEFORE INSERT OR UPDATE OF quantity ON cart_items
            FOR EACH ROW EXECUTE FUNCTION cart_items_stock();

        CREATE OR REPLACE FUNCTION cart_items_lines_max() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            lines bigint;
        BEGIN
            IF TG_TABLE_NAME = 'cart_items' THEN
                PERFORM 1 FROM carts WHERE user_id = NEW.user_id AND id = NEW.cart_id
                    FOR NO KEY UPDATE;
                SELECT count(*) INTO lines FROM cart_items
                    WHERE user_id = NEW.user_id AND cart_id = NEW.cart_id;
            ELSE
                -- A shard of cart_items on a Citus node: the same on the shard of carts
                -- co-located with it, on this node (see cart_items_stock).
                EXECUTE format(
                    'SELECT 1 FROM %I.%I WHERE user_id = $1 AND id = $2 FOR NO KEY UPDATE',
                    TG_TABLE_SCHEMA,
                    'carts_' || get_shard_id_for_distribution_column('carts', NEW.user_id)
                ) USING NEW.user_id, NEW.cart_id;
                EXECUTE format(
                    'SELECT count(*) FROM %I.%I WHERE user_id = $1 AND cart_id = $2',
                    TG_TABLE_SCHEMA,
                    TG_TABLE_NAME
                ) INTO lines USING NEW.user_id, NEW.cart_id;
            END IF;
            IF lines > 1000 THEN
                RAISE EXCEPTION 'cart_items_lines_max_check: cart % already holds 1000 lines',
                    NEW.cart_id
                    USING ERRCODE = 'check_violation',
                          CONSTRAINT = 'cart_items_lines_max_check',
                          TABLE = 'cart_items';
            END IF;
            RETURN NULL;
        END
        $$;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TRIGGER cart_items_stock ON cart_items;
        DROP FUNCTION cart_items_stock();
        CREATE OR REPLACE FUNCTION cart_items_lines_max() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM 1 FROM carts WHERE id = NEW.cart_id FOR NO KEY UPDATE;
            IF (SELECT count(*) FROM cart_items WHERE cart_id = NEW.cart_id) > 1000 THEN
                RAISE EXCEPTION 'cart % already holds 1000 lines', NEW.cart_id
                    USING ERRCODE = 'check_violation',
                          CONSTRAINT = 'cart_items_lines_max_check',
                          TABLE = 'cart_items';
            END IF;
            RETURN NULL;
        END
        $$;

        ALTER TABLE order_lines DROP CONSTRAINT order_lines_order_id_fkey;
        ALTER TABLE order_lines DROP CONSTRAINT order_lines_order_id_product_id_key;
        ALTER TABLE order_lines ADD CONSTRAINT order_lines_order_id_product_id_key
            UNIQUE (order_id, product_id);
        ALTER TABLE order_lines DROP CONSTRAINT order_lines_pkey;
        ALTER TABLE order_lines ADD CONSTRAINT order_lines_pkey PRIMARY KEY (id);
        ALTER TABLE order_lines DROP COLUMN user_id;
        ALTER TABLE orders DROP CONSTRAINT orders_pkey;
        ALTER TABLE orders ADD CONSTRAINT orders_pkey PRIMARY KEY (id);
        ALTER TABLE order_lines ADD CONSTRAINT order_lines_order_id_fkey
            FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE;

        ALTER TABLE cart_items DROP CONSTRAINT cart_items_cart_id_fkey;
        ALTER TABLE cart_items DROP CONSTRAINT cart_items_cart_id_product_id_key;
        ALTER TABLE cart_items ADD CONSTRAINT cart_items_cart_id_product_id_key
            UNIQUE (cart_id, product_id);
        ALTER TABLE cart_items DROP CONSTRAINT cart_items_pkey;
        ALTER TABLE cart_items ADD CONSTRAINT cart_items_pkey PRIMARY KEY (id);
        ALTER TABLE cart_items DROP COLUMN user_id;
        ALTER TABLE carts DROP CONSTRAINT carts_pkey;
        ALTER TABLE carts ADD CONSTRAINT carts_pkey PRIMARY KEY (id);
        ALTER TABLE cart_items ADD CONSTRAINT cart_items_cart_id_fkey
            FOREIGN KEY (cart_id) REFERENCES carts (id) ON DELETE CASCADE;

        DROP TABLE emails;
        DROP TABLE usernames;
        CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username))
            WHERE deleted_at IS NULL;
        CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email))
            WHERE deleted_at IS NULL;

        CREATE TRIGGER products_set_updated_at BEFORE UPDATE ON products
            FOR EACH ROW EXECUTE FUNCTION set_updated_at();
        """
    )
