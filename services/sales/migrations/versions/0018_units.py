"""a product's unit (đơn vị tính), kept on the quote and order lines priced from it, for
the documents a customer receives

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("products", "quote_lines", "order_lines")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("unit", sa.String(20), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        op.drop_column(table, "unit")
