"""an index in the care-overdue report's order: the day each active customer's care falls due

`GET /api/customers/care-overdue` lists active customers whose last contact (or creation),
as a day in the business's calendar, plus their grade's cadence is before today, most
overdue first. Without an index on that day Postgres computed it for every active customer
and sorted them all (a second at a million). The index is on the report's own expression
for the default settings (BUSINESS_TIMEZONE Asia/Ho_Chi_Minh, DEFAULT_CARE_CADENCE_DAYS
30); other settings give the same answers, without the index.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DUE = (
    "(CAST(timezone('Asia/Ho_Chi_Minh', coalesce(last_contact_at, created_at)) AS DATE)"
    " + coalesce(care_cadence_days, 30))"
)


def upgrade() -> None:
    op.execute(
        f"CREATE INDEX ix_customers_care_due ON customers ({DUE}, id) WHERE lifecycle_stage <> 'inactive'"
    )
    op.execute(
        f"CREATE INDEX ix_customers_owner_care_due ON customers (owner_id, {DUE}, id)"
        " WHERE lifecycle_stage <> 'inactive'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_customers_owner_care_due")
    op.execute("DROP INDEX ix_customers_care_due")
