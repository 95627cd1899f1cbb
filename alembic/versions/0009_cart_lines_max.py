"""The cap on lines per cart as a rule of the schema, whichever statement adds the line.

A cart holds at most 1,000 lines (domain.values.CART_LINES_MAX). The statement that adds a
line counts the cart's lines itself, but under READ COMMITTED it counts in the snapshot taken
when it started: two adds of new lines to a cart of 999, each unaware of the other's
uncommitted line, both pass, and the cart ends with 1,001. `add_for_user` avoids it by locking
the cart first; `add_item`, given a cart id, did not.

`cart_items_lines_max_check` is a constraint trigger, run after each new line: it locks the
cart's row (FOR NO KEY UPDATE, held to the end of the transaction), then counts the lines
again. A second add to the same cart waits at that lock until the first commits or rolls
back, and, as each statement of a PL/pgSQL function takes a new snapshot, its count then
includes the first one's line: past the cap, it raises check_violation naming the rule, which
the adapter turns into CartFull. Adds to different carts never wait for each other, and a
change of quantity (an UPDATE) is not a new line. Cost: a row lock and an index-only count a
new line (~0.1 ms at 1,000 lines, a few µs at 5).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION cart_items_lines_max() RETURNS trigger LANGUAGE plpgsql AS $$
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
        CREATE CONSTRAINT TRIGGER cart_items_lines_max_check
            AFTER INSERT ON cart_items FOR EACH ROW EXECUTE FUNCTION cart_items_lines_max();
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TRIGGER cart_items_lines_max_check ON cart_items;
        DROP FUNCTION cart_items_lines_max();
        """
    )
