"""the customers a lead may be converted onto (crm_kit.customer_copy)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

from crm_kit import customer_copy

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    customer_copy.create_table()
    customer_copy.add_b2b_columns()


def downgrade() -> None:
    op.drop_table("known_customers")
