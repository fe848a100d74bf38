"""customers, their timeline, and the kit's outbox and inbox

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from crm_kit.migrations import create_kit_tables, drop_kit_tables

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_kit_tables()
    op.create_table(
        "customers",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(40)),
        sa.Column("email", sa.String(254)),
        sa.Column("region_code", sa.String(10)),
        sa.Column("channel_id", sa.Uuid),
        sa.Column("owner_id", sa.Uuid),
        sa.Column("lifecycle_stage", sa.String(20), nullable=False),
        sa.Column("grade", sa.String(40)),
        sa.Column("promoted_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_customers_owner_id", "customers", ["owner_id"])
    op.create_index("ix_customers_stage", "customers", ["lifecycle_stage"])
    op.create_table(
        "customer_timeline",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.Uuid, sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("actor_id", sa.Uuid),
        sa.Column("detail", JSONB, nullable=False),
    )
    op.create_index("ix_customer_timeline_customer_id", "customer_timeline", ["customer_id"])


def downgrade() -> None:
    op.drop_table("customer_timeline")
    op.drop_table("customers")
    drop_kit_tables()
