"""trigram indexes for the folded search, and indexes in the list's order (keyset pages)

`GET /api/leads?q=` matches name, company, e-mail (and a phone-like query the phone) with
`LIKE '%q%'`: no B-tree answers that, so every search read all the leads. GIN trigram
indexes (pg_trgm, `gin_trgm_ops`) on each matched column let Postgres OR their bitmaps. The
list's order, newest first then by id, gets an index of its own and one per owner.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGRAM = ("name_folded", "company_folded", "email", "phone_normalized")


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in TRIGRAM:
        op.execute(f"CREATE INDEX ix_leads_{column}_trgm ON leads USING gin ({column} gin_trgm_ops)")
    op.execute("CREATE INDEX ix_leads_list_order ON leads (created_at DESC, id)")
    op.execute("CREATE INDEX ix_leads_owner_list_order ON leads (owner_id, created_at DESC, id)")


def downgrade() -> None:
    op.execute("DROP INDEX ix_leads_owner_list_order")
    op.execute("DROP INDEX ix_leads_list_order")
    for column in TRIGRAM:
        op.execute(f"DROP INDEX ix_leads_{column}_trgm")
