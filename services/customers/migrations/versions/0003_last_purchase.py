"""the customer's last purchase, from OrderPlaced

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("customers", sa.Column("last_purchase_at", sa.DateTime(timezone=True)))
    op.add_column("customers", sa.Column("last_order_total", sa.BigInteger))


def downgrade() -> None:
    op.drop_column("customers", "last_order_total")
    op.drop_column("customers", "last_purchase_at")
