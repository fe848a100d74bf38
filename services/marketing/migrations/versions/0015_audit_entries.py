"""the audit trail (crm_kit.audit): who changed a channel, its coverage and salespeople,
a campaign or a target, when, before and after

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from crm_kit import audit

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    audit.create_table()


def downgrade() -> None:
    audit.drop_table()
