"""leads, their history, the managed disqualification reasons, the staff directory

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from crm_kit import directory

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REASONS = [
    ("no_budget", "Không có ngân sách", "No budget"),
    ("no_need", "Không có nhu cầu", "No need"),
    ("competitor", "Đã chọn đối thủ cạnh tranh", "Chose a competitor"),
    ("unreachable", "Không liên lạc được", "Unreachable"),
    ("duplicate", "Trùng lặp", "Duplicate"),
    ("other", "Lý do khác", "Other"),
]


def _when(name: str) -> sa.Column[sa.DateTime]:
    return sa.Column(name, sa.DateTime(timezone=True))


def upgrade() -> None:
    directory.create_table()
    op.create_table(
        "leads",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("company", sa.String(200)),
        sa.Column("phone", sa.String(40)),
        sa.Column("phone_normalized", sa.String(20)),
        sa.Column("email", sa.String(254)),
        sa.Column("name_folded", sa.String(200), nullable=False),
        sa.Column("company_folded", sa.String(200), nullable=False),
        sa.Column("source", sa.String(30), nullable=False),
        sa.Column("region_code", sa.String(10)),
        sa.Column("channel_id", sa.Uuid),
        sa.Column("campaign_id", sa.Uuid),
        sa.Column("owner_id", sa.Uuid, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("planned_contact_on", sa.Date),
        sa.Column("planned_channel", sa.String(20)),
        sa.Column("plan_note", sa.Text),
        _when("contacted_at"),
        sa.Column("contact_note", sa.Text),
        sa.Column("promising", sa.Boolean),
        sa.Column("evaluation_note", sa.Text),
        _when("evaluated_at"),
        sa.Column("disqualify_reason", sa.String(50)),
        sa.Column("disqualify_note", sa.Text),
        _when("closed_at"),
        sa.Column("customer_id", sa.Uuid),
        sa.Column("opportunity_id", sa.Uuid),
        _when("converted_at"),
        sa.Column("merged_into_id", sa.Uuid, sa.ForeignKey("leads.id")),
        _when("merged_at"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_leads_owner_id", "leads", ["owner_id"])
    op.create_index("ix_leads_status", "leads", ["status"])
    op.create_index("ix_leads_created_at", "leads", ["created_at"])
    op.create_index("ix_leads_phone_normalized", "leads", ["phone_normalized"])
    op.create_index("ix_leads_email", "leads", ["email"])
    op.create_index("ix_leads_company_name", "leads", ["company_folded", "name_folded"])
    op.create_index("ix_leads_campaign_id", "leads", ["campaign_id"])
    op.create_table(
        "lead_history",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("lead_id", sa.Uuid, sa.ForeignKey("leads.id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("actor_id", sa.Uuid),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("changes", JSONB, nullable=False),
    )
    op.create_index("ix_lead_history_lead_id", "lead_history", ["lead_id"])
    reasons = op.create_table(
        "disqualify_reasons",
        sa.Column("code", sa.String(50), primary_key=True),
        sa.Column("label_vi", sa.String(200), nullable=False),
        sa.Column("label_en", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.bulk_insert(
        reasons,
        [{"code": code, "label_vi": vi, "label_en": en, "active": True} for code, vi, en in REASONS],
    )


def downgrade() -> None:
    op.drop_table("disqualify_reasons")
    op.drop_table("lead_history")
    op.drop_table("leads")
    op.drop_table("staff_directory")
