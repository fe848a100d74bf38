"""known_product_groups: marketing's copy of sales' managed product groups (from
ProductGroupChanged), seeded with every group marketing already holds so what was
entered before stays valid; the seed's changed_at is the epoch, so any real event wins

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Every table of marketing that carries a product group.
HOLDERS = ("market_volumes", "sales_targets", "revenue_facts")


def upgrade() -> None:
    op.create_table(
        "known_product_groups",
        sa.Column("code", sa.String(100), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    held = " UNION ".join(
        f"SELECT product_group FROM {table} WHERE product_group IS NOT NULL" for table in HOLDERS
    )
    op.execute(
        "INSERT INTO known_product_groups (code, name, active, changed_at) "
        "SELECT product_group, product_group, true, TIMESTAMPTZ '1970-01-01 00:00:00+00'"
        f" FROM ({held}) AS held "
        "ON CONFLICT (code) DO NOTHING"
    )


def downgrade() -> None:
    op.drop_table("known_product_groups")
