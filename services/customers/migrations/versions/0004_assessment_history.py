"""an index to find a customer's grade on a day: its last assessment before it

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_assessments_customer_graded", "assessments", ["customer_id", "graded_at"])


def downgrade() -> None:
    op.drop_index("ix_assessments_customer_graded", "assessments")
