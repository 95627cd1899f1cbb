"""Indexes for keyset pagination of the product search, one per sort order.

Names sort by code point (`COLLATE "C"`): the same on every server, whatever its locale,
and in the in-memory adapter. Each index ends in `id`, the tie-break of every sort, so a
page after a cursor is an index range scan whatever the page number.

Not CONCURRENTLY: this revision ships with the tables of 0002, before any data exists, and
alembic runs each revision in a transaction (where CONCURRENTLY is not allowed).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE INDEX products_name_id_idx ON products ((name COLLATE "C"), id);
        CREATE INDEX products_price_id_idx ON products (price, id);
        CREATE INDEX products_created_at_id_idx ON products (created_at DESC, id DESC);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX products_created_at_id_idx;
        DROP INDEX products_price_id_idx;
        DROP INDEX products_name_id_idx;
        """
    )
