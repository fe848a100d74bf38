"""regions: the 34 provinces since 1 July 2025, their groupings, the 63 former ones

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

The rows come from `marketing/data/*.csv`; a later correction of the data ships as
a new revision that calls `marketing.region_tables.sync()` again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from marketing import region_tables

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "regions",
        sa.Column("code", sa.String(3), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("official_name", sa.String(120), nullable=False),
        sa.Column("name_ascii", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("macro_region", sa.String(60), nullable=False),
        sa.Column("socio_economic_region", sa.String(60), nullable=False),
        sa.CheckConstraint("kind IN ('city', 'province')", name="ck_regions_kind"),
    )
    op.create_index("ix_regions_macro_region", "regions", ["macro_region"])
    op.create_index("ix_regions_socio_economic_region", "regions", ["socio_economic_region"])
    op.create_table(
        "region_groups",
        sa.Column("grouping", sa.String(30), primary_key=True),
        sa.Column("code", sa.String(60), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("name_ascii", sa.String(100), nullable=False),
        sa.Column("name_en", sa.String(100), nullable=False),
    )
    op.create_table(
        "former_provinces",
        sa.Column("code", sa.String(3), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("name_ascii", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("region_code", sa.String(3), sa.ForeignKey("regions.code"), nullable=False),
    )
    op.create_index("ix_former_provinces_region_code", "former_provinces", ["region_code"])
    region_tables.sync(op.get_bind())


def downgrade() -> None:
    op.drop_table("former_provinces")
    op.drop_table("region_groups")
    op.drop_table("regions")
