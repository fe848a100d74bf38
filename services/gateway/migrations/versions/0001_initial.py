"""users, and the kit's outbox and inbox

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm_kit.migrations import create_kit_tables, drop_kit_tables

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = "'admin', 'sales_manager', 'salesperson', 'marketing', 'accountant'"


def upgrade() -> None:
    create_kit_tables()
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("username", sa.String(50), nullable=False),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("username", name="uq_users_username"),
        # The API already enforces these; the database keeps a script or a bug from
        # storing a name the login would never match, or a role no service knows.
        sa.CheckConstraint("username = lower(username)", name="ck_users_username_lower"),
        sa.CheckConstraint(f"role IN ({ROLES})", name="ck_users_role"),
    )


def downgrade() -> None:
    op.drop_table("users")
    drop_kit_tables()
