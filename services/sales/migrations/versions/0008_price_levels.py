"""price levels: price lists per channel kind or grade, where each quote and order line's
price came from, and the approval rule on prices below their level

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.func.now()
LINES = ("quote_lines", "order_lines")


def upgrade() -> None:
    op.create_table(
        "price_lists",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("channel_kind", sa.String(20)),
        sa.Column("grade", sa.String(40)),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_to", sa.Date),
        sa.Column("created_by", sa.Uuid, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("updated_by", sa.Uuid),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.CheckConstraint("(channel_kind IS NULL) <> (grade IS NULL)", name="ck_price_lists_one_scope"),
        sa.CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="ck_price_lists_validity"),
    )
    op.create_index("ix_price_lists_channel_kind", "price_lists", ["channel_kind", "valid_from"])
    op.create_index("ix_price_lists_grade", "price_lists", ["grade", "valid_from"])
    op.create_table(
        "price_list_items",
        sa.Column("price_list_id", sa.Uuid, sa.ForeignKey("price_lists.id"), primary_key=True),
        sa.Column("product_code", sa.String(40), sa.ForeignKey("products.code"), primary_key=True),
        sa.Column("unit_price", sa.BigInteger, nullable=False),
        sa.CheckConstraint("unit_price >= 0", name="ck_price_list_items_unit_price"),
    )
    op.create_index("ix_price_list_items_product_code", "price_list_items", ["product_code"])
    # Lines made before stay without a source or level: nothing says which were typed in.
    for table in LINES:
        op.add_column(table, sa.Column("price_source", sa.String(20)))
        op.add_column(table, sa.Column("price_list_id", sa.Uuid))
        op.add_column(table, sa.Column("level_price", sa.BigInteger))
    op.add_column("approval_rules", sa.Column("max_below_level_pct", sa.Numeric(5, 2)))


def downgrade() -> None:
    op.drop_column("approval_rules", "max_below_level_pct")
    for table in LINES:
        for column in ("level_price", "price_list_id", "price_source"):
            op.drop_column(table, column)
    op.drop_table("price_list_items")
    op.drop_table("price_lists")
