"""an order cancelled before it is invoiced: the invoice accounting announced
(`InvoiceIssued`), the cancellation (who, when, why), and indexes for the order list's
filters (status, date range)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("invoice_id", sa.Uuid(), nullable=True))
    op.add_column("orders", sa.Column("invoice_number", sa.String(20), nullable=True))
    op.add_column("orders", sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("orders", sa.Column("cancelled_by", sa.Uuid(), nullable=True))
    op.add_column("orders", sa.Column("cancel_reason", sa.String(500), nullable=True))
    op.create_index("ix_orders_order_date", "orders", ["order_date"])
    op.create_index("ix_orders_placed_at", "orders", ["placed_at"])
    op.create_index("ix_orders_status_placed_at", "orders", ["status", "placed_at"])


def downgrade() -> None:
    op.drop_index("ix_orders_status_placed_at", table_name="orders")
    op.drop_index("ix_orders_placed_at", table_name="orders")
    op.drop_index("ix_orders_order_date", table_name="orders")
    for column in ("cancel_reason", "cancelled_by", "cancelled_at", "invoice_number", "invoice_id"):
        op.drop_column("orders", column)
