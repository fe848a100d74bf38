"""who owns each customer now, from events in any order

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

from crm_kit import ownership

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    ownership.create_table()


def downgrade() -> None:
    op.drop_table("customer_owners")
