"""hand-overs handled here, so a leaver's records go to the end of the chain (crm_kit.handovers)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

from crm_kit import handovers

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    handovers.create_table()


def downgrade() -> None:
    op.drop_table("owner_handovers")
