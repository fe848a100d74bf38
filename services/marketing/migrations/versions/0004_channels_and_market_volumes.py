"""channels, their coverage and salespeople; market volume estimates; staff directory

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm_kit import directory

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    directory.create_table()
    op.create_table(
        "channels",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_key", sa.String(200), nullable=False, unique=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("parent_id", sa.Uuid, sa.ForeignKey("channels.id")),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_by", sa.Uuid),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint(
            "kind IN ('distributor', 'dealer', 'retail', 'agent', 'online', 'project')",
            name="ck_channels_kind",
        ),
        sa.CheckConstraint("parent_id IS NULL OR parent_id <> id", name="ck_channels_not_own_parent"),
    )
    op.create_index("ix_channels_kind", "channels", ["kind"])
    op.create_index("ix_channels_parent_id", "channels", ["parent_id"])
    op.create_table(
        "channel_regions",
        sa.Column("channel_id", sa.Uuid, sa.ForeignKey("channels.id"), primary_key=True),
        sa.Column("region_code", sa.String(3), sa.ForeignKey("regions.code"), primary_key=True),
    )
    op.create_index("ix_channel_regions_region_code", "channel_regions", ["region_code"])
    op.create_table(
        "channel_assignments",
        sa.Column("channel_id", sa.Uuid, sa.ForeignKey("channels.id"), primary_key=True),
        sa.Column("region_code", sa.String(3), sa.ForeignKey("regions.code"), primary_key=True),
        sa.Column("user_id", sa.Uuid, primary_key=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_channel_assignments_user_id", "channel_assignments", ["user_id"])
    op.create_table(
        "market_volumes",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("region_code", sa.String(3), sa.ForeignKey("regions.code"), nullable=False),
        sa.Column("product_group", sa.String(100), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("revision", sa.Integer, nullable=False, server_default=sa.text("1")),
        sa.Column("entered_by", sa.Uuid, nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("region_code", "product_group", "period", name="uq_market_volume"),
        sa.CheckConstraint("amount >= 0", name="ck_market_volumes_amount"),
        sa.CheckConstraint(
            "source IN ('survey', 'industry_report', 'estimate')", name="ck_market_volumes_source"
        ),
    )
    op.create_index("ix_market_volumes_region_code", "market_volumes", ["region_code"])
    op.create_index("ix_market_volumes_period", "market_volumes", ["period"])
    op.create_table(
        "market_volume_revisions",
        sa.Column("volume_id", sa.Uuid, sa.ForeignKey("market_volumes.id"), primary_key=True),
        sa.Column("revision", sa.Integer, primary_key=True),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("entered_by", sa.Uuid, nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("market_volume_revisions")
    op.drop_table("market_volumes")
    op.drop_table("channel_assignments")
    op.drop_table("channel_regions")
    op.drop_table("channels")
    op.drop_table("staff_directory")
