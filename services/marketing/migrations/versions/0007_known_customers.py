"""marketing's customer profiles become the kit's copy of customers (crm_kit.customer_copy),
which keeps the newest owner and grade too, not the last to arrive

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm_kit import customer_copy

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    customer_copy.create_table()
    # The profiles kept no time for their owner or grade: the next reassignment or
    # grading of each customer counts, as it did before.
    op.execute(
        """
        INSERT INTO known_customers (customer_id, name, region_code, channel_id, details_as_of,
                                     owner_id, lifecycle_stage, stage_as_of, grade)
        SELECT customer_id, name, region_code, channel_id, details_as_of,
               owner_id, lifecycle_stage, stage_as_of, grade
        FROM customer_profiles
        """
    )
    op.drop_table("customer_profiles")


def downgrade() -> None:
    op.create_table(
        "customer_profiles",
        sa.Column("customer_id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("lifecycle_stage", sa.String(20), nullable=False),
        sa.Column("grade", sa.String(40)),
        sa.Column("owner_id", sa.Uuid),
        sa.Column("region_code", sa.String(10)),
        sa.Column("channel_id", sa.Uuid),
        sa.Column("details_as_of", sa.DateTime(timezone=True)),
        sa.Column("stage_as_of", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_customer_profiles_lifecycle_stage", "customer_profiles", ["lifecycle_stage"])
    op.create_index("ix_customer_profiles_region_code", "customer_profiles", ["region_code"])
    op.execute(
        """
        INSERT INTO customer_profiles (customer_id, name, lifecycle_stage, grade, owner_id, region_code,
                                       channel_id, details_as_of, stage_as_of)
        SELECT customer_id, name, lifecycle_stage, grade, owner_id, region_code,
               channel_id, details_as_of, stage_as_of
        FROM known_customers
        """
    )
    op.drop_table("known_customers")
