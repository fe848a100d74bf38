"""customers' newest name, region, channel and deactivation, kept whichever event comes
first; the time each customer's stage dates from

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_details",
        sa.Column("customer_id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.String(200)),
        sa.Column("region_code", sa.String(10)),
        sa.Column("channel_id", sa.Uuid),
        sa.Column("as_of", sa.DateTime(timezone=True)),
        sa.Column("deactivated_at", sa.DateTime(timezone=True)),
    )
    # Existing customers have none: any registration, promotion or deactivation is newer.
    op.add_column("sales_customers", sa.Column("stage_as_of", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("sales_customers", "stage_as_of")
    op.drop_table("customer_details")
