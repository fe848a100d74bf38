"""tokens a logout revoked (crm_kit.revocation)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

from crm_kit import revocation

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    revocation.create_table()


def downgrade() -> None:
    op.drop_table("revoked_tokens")
