"""orders cancelled in sales: kept whatever the order of arrival (no invoice after one,
a full credit note for an invoice that crossed it), an invoice's flag for the accountant
when it has payments, and indexes for the invoice list's date and overdue filters

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cancelled_orders",
        sa.Column("order_id", sa.Uuid(), primary_key=True),
        sa.Column("order_number", sa.String(50), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("cancelled_by", sa.Uuid(), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=True),
    )
    op.create_index("ix_cancelled_orders_customer_id", "cancelled_orders", ["customer_id"])
    op.add_column("invoices", sa.Column("attention", sa.String(500), nullable=True))
    op.create_index("ix_invoices_issue_date", "invoices", ["issue_date"])
    op.create_index(
        "ix_invoices_due_date_open", "invoices", ["due_date"], postgresql_where=sa.text("balance > 0")
    )


def downgrade() -> None:
    op.drop_index("ix_invoices_due_date_open", table_name="invoices")
    op.drop_index("ix_invoices_issue_date", table_name="invoices")
    op.drop_column("invoices", "attention")
    op.drop_table("cancelled_orders")
