"""the company profile: the seller named on every invoice and e-invoice (crm_kit.documents.seller)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from crm_kit.documents import seller

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    seller.create_table()


def downgrade() -> None:
    seller.drop_table()
