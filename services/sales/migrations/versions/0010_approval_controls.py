"""approval controls: a quote's approver's role (`admin` acting as the approver is recorded
as such), two approvers above the rules' `second_approval_min_total`, and what the
customer's other quotes and orders committed when its credit was checked

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("quotes", sa.Column("approved_as", sa.String(20), nullable=True))
    op.add_column("quotes", sa.Column("credit_committed", sa.BigInteger(), nullable=True))
    op.add_column("quotes", sa.Column("needs_second_approver", sa.Boolean(), nullable=True))
    op.add_column("quotes", sa.Column("first_approved_by", sa.Uuid(), nullable=True))
    op.add_column("quotes", sa.Column("first_approved_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("approval_rules", sa.Column("second_approval_min_total", sa.BigInteger(), nullable=True))
    # Quotes approved before stay without it: a manager's or an admin's, no longer known.


def downgrade() -> None:
    op.drop_column("approval_rules", "second_approval_min_total")
    for column in ("first_approved_at", "first_approved_by", "needs_second_approver", "credit_committed"):
        op.drop_column("quotes", column)
    op.drop_column("quotes", "approved_as")
