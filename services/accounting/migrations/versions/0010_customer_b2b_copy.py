"""the customer copy keeps the tax code, legal name and billing address (for quotes, orders
and invoices) and which customer a merged one became (crm_kit.customer_copy)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from crm_kit import customer_copy

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    customer_copy.add_b2b_columns()


def downgrade() -> None:
    customer_copy.drop_b2b_columns()
