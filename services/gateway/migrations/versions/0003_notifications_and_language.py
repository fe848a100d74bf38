"""notifications for the web UI, and each user's language

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LANGUAGES = "'vi', 'en'"


def upgrade() -> None:
    # Vietnamese by default: the first users are in Vietnam.
    op.add_column("users", sa.Column("language", sa.String(2), nullable=False, server_default="vi"))
    op.create_check_constraint("ck_users_language", "users", f"language IN ({LANGUAGES})")
    op.create_table(
        "notifications",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        #: What the text is made of (quote number, reason...), rendered in the reader's language.
        sa.Column("params", JSONB, nullable=False),
        sa.Column("link", sa.String(300), nullable=True),
        #: One pending notification per (user, key): a later re-grading replaces the review reminder.
        sa.Column("dedupe_key", sa.String(120), nullable=True),
        sa.Column("event_id", sa.Uuid, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        #: Reminders (a review due) are shown from this moment on.
        sa.Column("visible_from", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("user_id", "dedupe_key", name="uq_notifications_user_key"),
    )
    op.create_index("ix_notifications_user_visible", "notifications", ["user_id", "visible_from"])


def downgrade() -> None:
    op.drop_index("ix_notifications_user_visible", table_name="notifications")
    op.drop_table("notifications")
    op.drop_constraint("ck_users_language", "users")
    op.drop_column("users", "language")
