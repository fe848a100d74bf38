"""the company profile: the seller on quote and order PDFs, a copy of accounting's
(crm_kit.documents.seller)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from crm_kit.documents import seller

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    seller.create_table()


def downgrade() -> None:
    seller.drop_table()
