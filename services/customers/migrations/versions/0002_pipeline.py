"""customer master fields, grading questionnaires and assessments, care activities,
imports, and the staff directory

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from crm_kit import directory
from crm_kit.text import fold, normalize_email, normalize_vn_phone

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    directory.create_table()

    for column in (
        sa.Column("name_folded", sa.String(200), nullable=False, server_default=""),
        sa.Column("contact_name", sa.String(200)),
        sa.Column("address", sa.String(500)),
        sa.Column("source", sa.String(30)),
        sa.Column("lead_id", sa.Uuid),
        sa.Column("graded_at", sa.DateTime(timezone=True)),
        sa.Column("next_review_on", sa.Date),
        sa.Column("grade_questionnaire_id", sa.Uuid),
        sa.Column("grade_questionnaire_version", sa.Integer),
        sa.Column("care_cadence_days", sa.Integer),
        sa.Column("last_contact_at", sa.DateTime(timezone=True)),
    ):
        op.add_column("customers", column)
    _backfill_matching_keys()
    op.create_index("ix_customers_name_folded", "customers", ["name_folded"])
    op.create_index("ix_customers_phone", "customers", ["phone"])
    op.create_index("ix_customers_email", "customers", ["email"])
    op.create_index("ix_customers_next_review_on", "customers", ["next_review_on"])

    op.create_table(
        "questionnaires",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("family_id", sa.Uuid, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("scheme_kind", sa.String(20), nullable=False),
        sa.Column("grades", JSONB, nullable=False),
        sa.Column("criteria", JSONB, nullable=False),
        sa.Column("created_by", sa.Uuid, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("superseded_by", sa.Uuid),
        sa.UniqueConstraint("family_id", "version", name="uq_questionnaires_family_version"),
    )
    op.create_index("ix_questionnaires_family_id", "questionnaires", ["family_id"])

    op.create_table(
        "assessments",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("customer_id", sa.Uuid, sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("questionnaire_id", sa.Uuid, sa.ForeignKey("questionnaires.id"), nullable=False),
        sa.Column("questionnaire_family_id", sa.Uuid, nullable=False),
        sa.Column("questionnaire_version", sa.Integer, nullable=False),
        sa.Column("answers", JSONB, nullable=False),
        sa.Column("points", JSONB, nullable=False),
        sa.Column("score", sa.Numeric(5, 2), nullable=False),
        sa.Column("grade", sa.String(40), nullable=False),
        sa.Column("previous_grade", sa.String(40)),
        sa.Column("graded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_review_on", sa.Date, nullable=False),
        sa.Column("assessed_by", sa.Uuid, nullable=False),
    )
    op.create_index("ix_assessments_customer_id", "assessments", ["customer_id"])

    op.create_table(
        "activities",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("customer_id", sa.Uuid, sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("assignee_id", sa.Uuid),
        sa.Column("created_by", sa.Uuid, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("outcome", sa.Text),
        sa.Column("done_on", sa.Date),
        sa.Column("cancel_reason", sa.Text),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("closed_by", sa.Uuid),
    )
    op.create_index("ix_activities_customer_id", "activities", ["customer_id"])
    op.create_index("ix_activities_assignee_status_due", "activities", ["assignee_id", "status", "due_on"])

    op.create_table(
        "customer_imports",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("uploaded_by", sa.Uuid, nullable=False),
        sa.Column("uploader_role", sa.String(30), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("rows", JSONB, nullable=False),
        sa.Column("report", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("committed_at", sa.DateTime(timezone=True)),
        sa.Column("committed_by", sa.Uuid),
    )
    op.create_index("ix_customer_imports_uploaded_by", "customer_imports", ["uploaded_by"])


def _backfill_matching_keys() -> None:
    """Existing customers get the folded name, normalised phone and lower-case email
    that duplicate checks match on (a phone that is not Vietnamese stays as typed)."""
    customers = sa.table(
        "customers",
        sa.column("id", sa.Uuid),
        sa.column("name", sa.String),
        sa.column("name_folded", sa.String),
        sa.column("phone", sa.String),
        sa.column("email", sa.String),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(customers.c.id, customers.c.name, customers.c.phone, customers.c.email))
    for row in rows.all():
        bind.execute(
            customers.update()
            .where(customers.c.id == row.id)
            .values(
                name_folded=fold(row.name)[:200],
                phone=normalize_vn_phone(row.phone) or row.phone,
                email=normalize_email(row.email),
            )
        )


def downgrade() -> None:
    op.drop_table("customer_imports")
    op.drop_table("activities")
    op.drop_table("assessments")
    op.drop_table("questionnaires")
    for index in ("ix_customers_next_review_on", "ix_customers_email", "ix_customers_phone"):
        op.drop_index(index, table_name="customers")
    op.drop_index("ix_customers_name_folded", table_name="customers")
    for column in (
        "last_contact_at",
        "care_cadence_days",
        "grade_questionnaire_version",
        "grade_questionnaire_id",
        "next_review_on",
        "graded_at",
        "lead_id",
        "source",
        "address",
        "contact_name",
        "name_folded",
    ):
        op.drop_column("customers", column)
    op.drop_table("staff_directory")
