"""an invoice line's unit (đơn vị tính), as the order carried it

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("invoice_lines", sa.Column("unit", sa.String(20), nullable=True))


def downgrade() -> None:
    op.drop_column("invoice_lines", "unit")
