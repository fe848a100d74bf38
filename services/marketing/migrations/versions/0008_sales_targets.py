"""sales targets per period x province (x channel x salesperson x product group) with their
revisions; revenue facts keep the order's salesperson and are found by date

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sales_targets",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("region_code", sa.String(3), sa.ForeignKey("regions.code"), nullable=False),
        sa.Column("channel_id", sa.Uuid, sa.ForeignKey("channels.id")),
        sa.Column("salesperson_id", sa.Uuid),
        sa.Column("product_group", sa.String(100)),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("entered_by", sa.Uuid, nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint(
            "period",
            "region_code",
            "channel_id",
            "salesperson_id",
            "product_group",
            name="uq_sales_target_scope",
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_index("ix_sales_targets_period", "sales_targets", ["period"])
    op.create_index("ix_sales_targets_region_code", "sales_targets", ["region_code"])
    op.create_index("ix_sales_targets_salesperson_id", "sales_targets", ["salesperson_id"])
    op.create_table(
        "sales_target_revisions",
        sa.Column("target_id", sa.Uuid, sa.ForeignKey("sales_targets.id"), primary_key=True),
        sa.Column("revision", sa.Integer, primary_key=True),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("entered_by", sa.Uuid, nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.add_column("revenue_facts", sa.Column("owner_id", sa.Uuid))
    op.create_index("ix_revenue_facts_order_date", "revenue_facts", ["order_date"])


def downgrade() -> None:
    op.drop_index("ix_revenue_facts_order_date", "revenue_facts")
    op.drop_column("revenue_facts", "owner_id")
    op.drop_table("sales_target_revisions")
    op.drop_table("sales_targets")
