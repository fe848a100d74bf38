"""lead facts for campaign results

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lead_facts",
        sa.Column("lead_id", sa.Uuid, primary_key=True),
        sa.Column("owner_id", sa.Uuid),
        sa.Column("source", sa.String(30)),
        sa.Column("region_code", sa.String(10)),
        sa.Column("channel_id", sa.Uuid),
        sa.Column("campaign_id", sa.Uuid),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("customer_id", sa.Uuid),
        sa.Column("captured_at", sa.DateTime(timezone=True)),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_lead_facts_campaign_id", "lead_facts", ["campaign_id"])


def downgrade() -> None:
    op.drop_table("lead_facts")
