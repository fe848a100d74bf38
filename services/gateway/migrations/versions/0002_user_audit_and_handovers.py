"""user audit trail and portfolio hand-overs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIONS = "'created', 'updated', 'offboarded'"


def upgrade() -> None:
    op.create_table(
        "user_audit",
        sa.Column("id", sa.Uuid, primary_key=True),
        # Not foreign keys: the trail outlives any account, and the seed has no actor.
        sa.Column("user_id", sa.Uuid, nullable=False),
        sa.Column("actor_id", sa.Uuid, nullable=True),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("changes", JSONB, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint(f"action IN ({ACTIONS})", name="ck_user_audit_action"),
    )
    op.create_index("ix_user_audit_user_at", "user_audit", ["user_id", "at"])
    op.create_table(
        "handovers",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("from_user_id", sa.Uuid, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("to_user_id", sa.Uuid, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("requested_by", sa.Uuid, nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("from_user_id <> to_user_id", name="ck_handovers_other_user"),
    )
    op.create_index("ix_handovers_from_user", "handovers", ["from_user_id"])
    op.create_index("ix_handovers_to_user", "handovers", ["to_user_id"])


def downgrade() -> None:
    op.drop_table("handovers")
    op.drop_index("ix_user_audit_user_at", table_name="user_audit")
    op.drop_table("user_audit")
