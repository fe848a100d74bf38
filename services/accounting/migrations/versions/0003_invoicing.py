"""credit checks, invoices with gap-free numbers, payments, credit notes, the revenue ledger

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _created_at() -> sa.Column[sa.DateTime]:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "credit_checks",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("quote_id", sa.Uuid, nullable=False),
        sa.Column("quote_number", sa.String(50), nullable=False),
        sa.Column("submission", sa.Integer, nullable=False),
        sa.Column("customer_id", sa.Uuid, nullable=False),
        sa.Column("quote_owner_id", sa.Uuid),
        sa.Column("quote_total", sa.BigInteger, nullable=False),
        sa.Column("open_receivables", sa.BigInteger, nullable=False),
        sa.Column("exposure", sa.BigInteger, nullable=False),
        sa.Column("credit_limit", sa.BigInteger, nullable=False),
        sa.Column("default_limit", sa.Boolean, nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("quote_id", "submission", name="uq_credit_checks_submission"),
    )
    op.create_index("ix_credit_checks_customer_id", "credit_checks", ["customer_id"])

    for counter in ("invoice_counters", "credit_note_counters"):
        op.create_table(
            counter,
            sa.Column("year", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("last", sa.Integer, nullable=False),
        )

    op.create_table(
        "invoices",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("number", sa.String(20), nullable=False, unique=True),
        sa.Column("order_id", sa.Uuid, nullable=False, unique=True),
        sa.Column("order_number", sa.String(50), nullable=False),
        sa.Column("quote_id", sa.Uuid, nullable=False),
        sa.Column("customer_id", sa.Uuid, sa.ForeignKey("accounts.customer_id"), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("issue_date", sa.Date, nullable=False),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("payment_terms_days", sa.Integer, nullable=False),
        sa.Column("net_total", sa.BigInteger, nullable=False),
        sa.Column("vat_total", sa.BigInteger, nullable=False),
        sa.Column("total", sa.BigInteger, nullable=False),
        sa.Column("paid_total", sa.BigInteger, nullable=False),
        sa.Column("credited_total", sa.BigInteger, nullable=False),
        sa.Column("balance", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        _created_at(),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint(
            "balance >= 0 AND balance = total - paid_total - credited_total", name="ck_invoices_balance"
        ),
    )
    op.create_index("ix_invoices_customer_id", "invoices", ["customer_id"])
    op.create_index("ix_invoices_status", "invoices", ["status"])

    op.create_table(
        "invoice_lines",
        sa.Column("invoice_id", sa.Uuid, sa.ForeignKey("invoices.id"), primary_key=True),
        sa.Column("line_no", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("product_code", sa.String(50), nullable=False),
        sa.Column("product_name", sa.String(200), nullable=False),
        sa.Column("product_group", sa.String(100), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("unit_price", sa.BigInteger, nullable=False),
        sa.Column("discount_pct", sa.Numeric(7, 4), nullable=False),
        sa.Column("vat_rate_pct", sa.Numeric(7, 4), nullable=False),
        sa.Column("net_amount", sa.BigInteger, nullable=False),
        sa.Column("vat_amount", sa.BigInteger, nullable=False),
        sa.Column("gross_amount", sa.BigInteger, nullable=False),
    )

    op.create_table(
        "payments",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("invoice_id", sa.Uuid, sa.ForeignKey("invoices.id"), nullable=False),
        sa.Column("customer_id", sa.Uuid, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("paid_on", sa.Date, nullable=False),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("reference", sa.String(100)),
        sa.Column("recorded_by", sa.Uuid, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("amount > 0", name="ck_payments_amount"),
    )
    op.create_index("ix_payments_invoice_id", "payments", ["invoice_id"])
    op.create_index("ix_payments_customer_id", "payments", ["customer_id"])

    op.create_table(
        "credit_notes",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("number", sa.String(20), nullable=False, unique=True),
        sa.Column("invoice_id", sa.Uuid, sa.ForeignKey("invoices.id"), nullable=False),
        sa.Column("customer_id", sa.Uuid, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("issued_on", sa.Date, nullable=False),
        sa.Column("issued_by", sa.Uuid, nullable=False),
        _created_at(),
        sa.CheckConstraint("amount > 0", name="ck_credit_notes_amount"),
    )
    op.create_index("ix_credit_notes_invoice_id", "credit_notes", ["invoice_id"])
    op.create_index("ix_credit_notes_customer_id", "credit_notes", ["customer_id"])

    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("entry_date", sa.Date, nullable=False),
        sa.Column("customer_id", sa.Uuid, nullable=False),
        sa.Column("invoice_id", sa.Uuid, sa.ForeignKey("invoices.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("document_id", sa.Uuid, nullable=False, unique=True),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("reference", sa.String(200), nullable=False),
        _created_at(),
    )
    op.create_index("ix_ledger_entries_date", "ledger_entries", ["entry_date", "id"])
    op.create_index("ix_ledger_entries_customer_id", "ledger_entries", ["customer_id"])
    op.create_index("ix_ledger_entries_invoice_id", "ledger_entries", ["invoice_id"])


def downgrade() -> None:
    for table in (
        "ledger_entries",
        "credit_notes",
        "payments",
        "invoice_lines",
        "invoices",
        "credit_note_counters",
        "invoice_counters",
        "credit_checks",
    ):
        op.drop_table(table)
