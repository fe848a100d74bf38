"""the credit policy (a new account's limit per grade and channel kind), where each
account's limit came from, the channels' kinds, and the audit trail (crm_kit.audit)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm_kit import audit

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "accounts", sa.Column("credit_limit_source", sa.String(10), nullable=False, server_default="policy")
    )
    op.add_column("accounts", sa.Column("cash_only", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("accounts", sa.Column("grade", sa.String(40), nullable=True))
    op.add_column("credit_checks", sa.Column("reason", sa.String(200), nullable=True))
    op.create_table(
        "credit_policy_rules",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("grade", sa.String(40), nullable=True),
        sa.Column("channel_kind", sa.String(20), nullable=True),
        sa.Column("credit_limit", sa.BigInteger, nullable=False),
        sa.Column("cash_only", sa.Boolean, nullable=False),
        sa.Column("updated_by", sa.Uuid, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint(
            "grade", "channel_kind", name="uq_credit_policy_rules_scope", postgresql_nulls_not_distinct=True
        ),
        sa.CheckConstraint(
            "credit_limit >= 0 AND (NOT cash_only OR credit_limit = 0)", name="ck_credit_policy_rules_limit"
        ),
    )
    op.create_table(
        "known_channels",
        sa.Column("channel_id", sa.Uuid, primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    audit.create_table()


def downgrade() -> None:
    audit.drop_table()
    op.drop_table("known_channels")
    op.drop_table("credit_policy_rules")
    op.drop_column("credit_checks", "reason")
    op.drop_column("accounts", "grade")
    op.drop_column("accounts", "cash_only")
    op.drop_column("accounts", "credit_limit_source")
