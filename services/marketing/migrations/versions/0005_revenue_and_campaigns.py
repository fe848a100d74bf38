"""revenue facts from orders; campaigns and their audience at launch

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "revenue_facts",
        sa.Column("order_id", sa.Uuid, primary_key=True),
        sa.Column("line_no", sa.Integer, primary_key=True),
        sa.Column("customer_id", sa.Uuid, nullable=False),
        sa.Column("region_code", sa.String(3)),
        sa.Column("source_region_code", sa.String(10)),
        sa.Column("channel_id", sa.Uuid),
        sa.Column("product_group", sa.String(100), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("quarter", sa.Integer, nullable=False),
        sa.Column("order_date", sa.Date, nullable=False),
        sa.Column("net_amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_revenue_facts_period", "revenue_facts", ["year", "quarter"])
    op.create_index("ix_revenue_facts_customer_id", "revenue_facts", ["customer_id"])
    op.create_index("ix_revenue_facts_channel_id", "revenue_facts", ["channel_id"])
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("target", JSONB, nullable=False),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("ends_on", sa.Date, nullable=False),
        sa.Column("audience_size", sa.Integer),
        sa.Column("created_by", sa.Uuid, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("launched_by", sa.Uuid),
        sa.Column("launched_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("status IN ('draft', 'launched')", name="ck_campaigns_status"),
        sa.CheckConstraint("ends_on >= starts_on", name="ck_campaigns_dates"),
    )
    op.create_index("ix_campaigns_status", "campaigns", ["status"])
    op.create_table(
        "campaign_members",
        sa.Column("campaign_id", sa.Uuid, sa.ForeignKey("campaigns.id"), primary_key=True),
        sa.Column("customer_id", sa.Uuid, primary_key=True),
    )
    # Campaign results look leads up by the customer they became.
    op.create_index("ix_lead_facts_customer_id", "lead_facts", ["customer_id"])


def downgrade() -> None:
    op.drop_index("ix_lead_facts_customer_id", table_name="lead_facts")
    op.drop_table("campaign_members")
    op.drop_table("campaigns")
    op.drop_index("ix_revenue_facts_customer_id", table_name="revenue_facts")
    op.drop_index("ix_revenue_facts_channel_id", table_name="revenue_facts")
    op.drop_index("ix_revenue_facts_period", table_name="revenue_facts")
    op.drop_table("revenue_facts")
