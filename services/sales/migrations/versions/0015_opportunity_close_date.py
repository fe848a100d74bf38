"""an opportunity's expected close date, for repeat business and the forecast

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
    op.add_column("opportunities", sa.Column("expected_close_on", sa.Date))
    op.create_index("ix_opportunities_expected_close_on", "opportunities", ["expected_close_on"])


def downgrade() -> None:
    op.drop_index("ix_opportunities_expected_close_on", table_name="opportunities")
    op.drop_column("opportunities", "expected_close_on")
