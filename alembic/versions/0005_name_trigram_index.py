"""A trigram index for the product search's text filter, so that a term found in few names
(or in none) is answered from the index instead of a scan of the catalog.

The index covers exactly the expression the search compares, `lower(name COLLATE "C")`
(adapters.postgres.products.NAME_FOLDED): an index on any other expression is never used.
pg_trgm is a trusted extension (PostgreSQL 13+), so the database's owner may create it.

Not CONCURRENTLY: alembic runs every revision in one transaction, where CONCURRENTLY is not
allowed. CREATE INDEX blocks writes to products (not reads) while it builds: measured at
1,000,000 products (names of ~20 characters) on PostgreSQL 15, 8.7 s. An operator with a
live catalog that large can run the CREATE INDEX CONCURRENTLY of the same definition by hand
first; IF NOT EXISTS then makes this revision a no-op for the index.

The downgrade drops the extension too; without CASCADE it refuses (and the downgrade fails,
changing nothing) if anything else in the database still uses pg_trgm.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE INDEX IF NOT EXISTS products_name_trgm_idx
            ON products USING gin ((lower(name COLLATE "C")) gin_trgm_ops);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX products_name_trgm_idx;
        DROP EXTENSION pg_trgm;
        """
    )
