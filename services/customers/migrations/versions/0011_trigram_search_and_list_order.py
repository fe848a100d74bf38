"""trigram index for the folded name search, and indexes in the lists' order (keyset pages)

`GET /api/customers?q=` matches `name_folded LIKE '%q%'`: a B-tree cannot answer that, so
at a million customers every search read the whole table. A GIN trigram index
(pg_trgm, `gin_trgm_ops`) can. The list's order, newest first then by id, gets an index of
its own (and one per owner, for a salesperson's list), so a first page and a cursor page
deep in the list read 50 index entries instead of sorting the table.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE INDEX ix_customers_name_folded_trgm ON customers USING gin (name_folded gin_trgm_ops)")
    # A tax code in `?q=` (its dependent units by prefix): the partial unique index does not
    # answer a query without its predicate.
    op.execute("CREATE INDEX ix_customers_tax_code ON customers (tax_code text_pattern_ops)")
    op.execute("CREATE INDEX ix_customers_list_order ON customers (created_at DESC, id)")
    op.execute("CREATE INDEX ix_customers_owner_list_order ON customers (owner_id, created_at DESC, id)")


def downgrade() -> None:
    op.execute("DROP INDEX ix_customers_owner_list_order")
    op.execute("DROP INDEX ix_customers_list_order")
    op.execute("DROP INDEX ix_customers_tax_code")
    op.execute("DROP INDEX ix_customers_name_folded_trgm")
