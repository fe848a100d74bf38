"""the customers service's time of each profile's details and stage, so an older event
arriving late changes neither

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing profiles have none: any later registration, promotion, edit or deactivation is newer.
    op.add_column("customer_profiles", sa.Column("details_as_of", sa.DateTime(timezone=True)))
    op.add_column("customer_profiles", sa.Column("stage_as_of", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("customer_profiles", "stage_as_of")
    op.drop_column("customer_profiles", "details_as_of")
