"""what each quote commits of its customer's credit until invoiced, and each credit check's
`committed`: a deal split into several quotes is checked as one

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "credit_commitments",
        sa.Column("quote_id", sa.Uuid(), primary_key=True),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_credit_commitments_customer", "credit_commitments", ["customer_id", "status"])
    # Quotes checked before this commit nothing: their later events record them.
    op.add_column(
        "credit_checks", sa.Column("committed", sa.BigInteger(), nullable=False, server_default="0")
    )


def downgrade() -> None:
    op.drop_column("credit_checks", "committed")
    op.drop_table("credit_commitments")
