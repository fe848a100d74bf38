"""performance per salesperson x channel x province: each fact's province, the quotes lost
(declined, expired, rejected) as facts, the care activities from the customers service,
and the indexes the report reads by

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-09
"""

import os
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The business's zone (`ServiceSettings.business_timezone`): an expired quote is lost at the
#: start of the day after its `valid_until` there.
ZONE = os.environ.get("BUSINESS_TIMEZONE", "Asia/Ho_Chi_Minh")

#: Each fact's province, where what sales keeps says it: an order's own region (else its
#: customer's), a quote's customer's, a prospect's, a converted lead's customer's (through
#: its opportunity). Leads captured or disqualified, and converted without an opportunity,
#: say no province and keep none.
FILL_REGIONS = (
    """UPDATE performance_facts f SET region_code = COALESCE(o.region_code, c.region_code)
       FROM orders o LEFT JOIN sales_customers c ON c.id = o.customer_id
       WHERE f.kind = 'order_placed' AND f.subject_id = o.id""",
    """UPDATE performance_facts f SET region_code = c.region_code
       FROM quotes q JOIN sales_customers c ON c.id = q.customer_id
       WHERE f.kind IN ('quote_sent', 'quote_accepted') AND f.subject_id = q.id""",
    """UPDATE performance_facts f SET region_code = c.region_code
       FROM sales_customers c
       WHERE f.kind = 'prospect_gained' AND f.subject_id = c.id""",
    """UPDATE performance_facts f SET region_code = c.region_code
       FROM opportunities o JOIN sales_customers c ON c.id = o.customer_id
       WHERE f.kind = 'lead_qualified' AND f.subject_id = o.lead_id""",
)

#: The quotes lost before they were facts, from the quotes themselves (a revised quote keeps
#: only its last rejection's time).
LOST_QUOTES = {
    "quote_declined": "q.declined_at",
    "quote_expired": "((q.valid_until + 1)::timestamp AT TIME ZONE :zone)",
    "quote_rejected": "q.rejected_at",
}
WHERE_LOST = {
    "quote_declined": "q.declined_at IS NOT NULL",
    "quote_expired": "q.status = 'expired'",
    "quote_rejected": "q.rejected_at IS NOT NULL",
}


def upgrade() -> None:
    op.add_column("performance_facts", sa.Column("region_code", sa.String(10)))
    for statement in FILL_REGIONS:
        op.execute(statement)
    for kind, at in LOST_QUOTES.items():
        insert = sa.text(
            f"""INSERT INTO performance_facts
                  (kind, subject_id, owner_id, channel_id, region_code, amount, occurred_at)
                SELECT '{kind}', q.id, q.owner_id, c.channel_id, c.region_code, q.total, {at}
                FROM quotes q LEFT JOIN sales_customers c ON c.id = q.customer_id
                WHERE {WHERE_LOST[kind]}
                ON CONFLICT ON CONSTRAINT uq_performance_facts_kind_subject DO NOTHING"""
        )
        op.execute(insert.bindparams(zone=ZONE) if ":zone" in at else insert)
    op.create_index(
        "ix_performance_facts_owner_occurred_at", "performance_facts", ["owner_id", "occurred_at"]
    )
    op.create_table(
        "care_activities",
        sa.Column("activity_id", sa.Uuid, primary_key=True),
        sa.Column("customer_id", sa.Uuid, nullable=False),
        sa.Column("owner_id", sa.Uuid),
        sa.Column("channel_id", sa.Uuid),
        sa.Column("region_code", sa.String(10)),
        sa.Column("due_on", sa.Date),
        sa.Column("planned_as_of", sa.DateTime(timezone=True)),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("done_on", sa.Date),
        sa.Column("ended_on", sa.Date),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_care_activities_due_on", "care_activities", ["due_on"])
    op.create_index("ix_care_activities_ended_on_due_on", "care_activities", ["ended_on", "due_on"])
    op.create_index("ix_care_activities_owner_due_on", "care_activities", ["owner_id", "due_on"])


def downgrade() -> None:
    op.drop_table("care_activities")
    op.drop_index("ix_performance_facts_owner_occurred_at", "performance_facts")
    op.execute(f"DELETE FROM performance_facts WHERE kind IN ({', '.join(map(repr, LOST_QUOTES))})")
    op.drop_column("performance_facts", "region_code")
