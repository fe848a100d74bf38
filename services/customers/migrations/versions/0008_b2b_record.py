"""the customer as a Vietnamese B2B record: tax code (unique among active customers), legal
name, billing address, and which customer a merged one became

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("customers", sa.Column("tax_code", sa.String(14), nullable=True))
    op.add_column("customers", sa.Column("legal_name", sa.String(300), nullable=True))
    op.add_column("customers", sa.Column("billing_address", sa.String(500), nullable=True))
    op.add_column(
        "customers", sa.Column("merged_into_id", sa.Uuid, sa.ForeignKey("customers.id"), nullable=True)
    )
    op.add_column("customers", sa.Column("merged_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "uq_customers_active_tax_code",
        "customers",
        ["tax_code"],
        unique=True,
        postgresql_where=sa.text("tax_code IS NOT NULL AND lifecycle_stage <> 'inactive'"),
    )


def downgrade() -> None:
    op.drop_index("uq_customers_active_tax_code", "customers")
    for column in ("merged_at", "merged_into_id", "billing_address", "legal_name", "tax_code"):
        op.drop_column("customers", column)
