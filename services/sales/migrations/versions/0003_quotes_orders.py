"""prospects and grades in sales; products and prices, opportunities, approval rules,
quotes, orders, contracts, document numbers, audit and performance facts

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.func.now()


def _tz(name: str, **kwargs: Any) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), **kwargs)


def upgrade() -> None:
    # Sales now knows prospects too (quotable, not yet open for ordering).
    op.add_column(
        "sales_customers",
        sa.Column("lifecycle_stage", sa.String(20), nullable=False, server_default="traditional"),
    )
    op.add_column("sales_customers", sa.Column("grade", sa.String(40)))
    op.add_column("sales_customers", _tz("registered_at"))
    op.alter_column("sales_customers", "promoted_at", nullable=True)
    op.alter_column("sales_customers", "opened_at", nullable=True, server_default=None)

    op.create_table(
        "customer_grades",
        sa.Column("customer_id", sa.Uuid, primary_key=True),
        sa.Column("grade", sa.String(40), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        _tz("graded_at", nullable=False),
    )

    op.create_table(
        "products",
        sa.Column("code", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("search_text", sa.String(300), nullable=False, server_default=""),
        sa.Column("product_group", sa.String(100), nullable=False),
        sa.Column("unit_price", sa.BigInteger, nullable=False),
        sa.Column("vat_rate_pct", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        _tz("created_at", nullable=False, server_default=NOW),
        _tz("updated_at", nullable=False, server_default=NOW),
        sa.CheckConstraint("unit_price >= 0", name="ck_products_unit_price"),
        sa.CheckConstraint("vat_rate_pct IN (0, 5, 8, 10)", name="ck_products_vat_rate"),
    )
    op.create_index("ix_products_product_group", "products", ["product_group"])
    op.create_table(
        "product_prices",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("product_code", sa.String(40), sa.ForeignKey("products.code"), nullable=False),
        sa.Column("unit_price", sa.BigInteger, nullable=False),
        sa.Column("vat_rate_pct", sa.Integer, nullable=False),
        _tz("valid_from", nullable=False),
        sa.Column("set_by", sa.Uuid),
    )
    op.create_index("ix_product_prices_product_code", "product_prices", ["product_code"])

    op.create_table(
        "opportunities",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("customer_id", sa.Uuid, nullable=False),
        sa.Column("lead_id", sa.Uuid),
        sa.Column("owner_id", sa.Uuid, nullable=False),
        sa.Column("expected_amount", sa.BigInteger, nullable=False),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("lost_reason", sa.Text),
        sa.Column("won_quote_id", sa.Uuid),
        _tz("stage_changed_at", nullable=False, server_default=NOW),
        _tz("closed_at"),
        _tz("created_at", nullable=False, server_default=NOW),
    )
    op.create_index("ix_opportunities_customer_id", "opportunities", ["customer_id"])
    op.create_index("ix_opportunities_owner_id", "opportunities", ["owner_id"])

    op.create_table(
        "approval_rules",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("min_total", sa.BigInteger),
        sa.Column("max_discount_pct", sa.Numeric(5, 2)),
        sa.Column("updated_by", sa.Uuid),
        _tz("updated_at", nullable=False, server_default=NOW),
        sa.CheckConstraint("id = 1", name="ck_approval_rules_one_row"),
    )
    op.execute("INSERT INTO approval_rules (id, mode) VALUES (1, 'all')")

    op.create_table(
        "quotes",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("number", sa.String(20), nullable=False, unique=True),
        sa.Column("customer_id", sa.Uuid, nullable=False),
        sa.Column("customer_name", sa.String(200), nullable=False),
        sa.Column("opportunity_id", sa.Uuid),
        sa.Column("owner_id", sa.Uuid, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("valid_until", sa.Date, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("net_total", sa.BigInteger, nullable=False),
        sa.Column("vat_total", sa.BigInteger, nullable=False),
        sa.Column("total", sa.BigInteger, nullable=False),
        sa.Column("max_discount_pct", sa.Numeric(5, 2), nullable=False),
        sa.Column("submission", sa.Integer, nullable=False),
        _tz("submitted_at"),
        sa.Column("needs_manager", sa.Boolean),
        sa.Column("credit_status", sa.String(10)),
        sa.Column("credit_exposure", sa.BigInteger),
        sa.Column("credit_open_receivables", sa.BigInteger),
        sa.Column("credit_limit", sa.BigInteger),
        _tz("credit_checked_at"),
        sa.Column("approval_mode", sa.String(10)),
        sa.Column("approved_by", sa.Uuid),
        _tz("approved_at"),
        sa.Column("override_reason", sa.Text),
        sa.Column("rejected_by", sa.Uuid),
        _tz("rejected_at"),
        sa.Column("rejection_reason", sa.Text),
        _tz("sent_at"),
        _tz("accepted_at"),
        _tz("declined_at"),
        sa.Column("decline_reason", sa.Text),
        _tz("expired_at"),
        sa.Column("copied_from_id", sa.Uuid),
        sa.Column("created_by", sa.Uuid, nullable=False),
        _tz("created_at", nullable=False, server_default=NOW),
        _tz("updated_at", nullable=False, server_default=NOW),
    )
    op.create_index("ix_quotes_customer_id", "quotes", ["customer_id"])
    op.create_index("ix_quotes_opportunity_id", "quotes", ["opportunity_id"])
    op.create_index("ix_quotes_owner_id", "quotes", ["owner_id"])
    op.create_index("ix_quotes_status", "quotes", ["status"])
    op.create_table(
        "quote_lines",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("quote_id", sa.Uuid, sa.ForeignKey("quotes.id"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("product_code", sa.String(40), nullable=False),
        sa.Column("product_name", sa.String(200), nullable=False),
        sa.Column("product_group", sa.String(100), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("unit_price", sa.BigInteger, nullable=False),
        sa.Column("discount_pct", sa.Numeric(5, 2), nullable=False),
        sa.Column("vat_rate_pct", sa.Integer, nullable=False),
        sa.Column("gross_amount", sa.BigInteger, nullable=False),
        sa.Column("discount_amount", sa.BigInteger, nullable=False),
        sa.Column("net_amount", sa.BigInteger, nullable=False),
        sa.Column("vat_amount", sa.BigInteger, nullable=False),
        sa.Column("total", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_quote_lines_quote_id", "quote_lines", ["quote_id"])

    op.create_table(
        "orders",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("number", sa.String(20), nullable=False, unique=True),
        sa.Column("quote_id", sa.Uuid, nullable=False, unique=True),
        sa.Column("customer_id", sa.Uuid, nullable=False),
        sa.Column("customer_name", sa.String(200), nullable=False),
        sa.Column("opportunity_id", sa.Uuid),
        sa.Column("owner_id", sa.Uuid, nullable=False),
        sa.Column("region_code", sa.String(10)),
        sa.Column("channel_id", sa.Uuid),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("net_total", sa.BigInteger, nullable=False),
        sa.Column("vat_total", sa.BigInteger, nullable=False),
        sa.Column("total", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("needs_contract", sa.Boolean, nullable=False),
        sa.Column("payment_terms_days", sa.Integer, nullable=False),
        sa.Column("order_date", sa.Date, nullable=False),
        _tz("placed_at", nullable=False),
    )
    op.create_index("ix_orders_customer_id", "orders", ["customer_id"])
    op.create_index("ix_orders_owner_id", "orders", ["owner_id"])
    op.create_table(
        "order_lines",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.Uuid, sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("product_code", sa.String(40), nullable=False),
        sa.Column("product_name", sa.String(200), nullable=False),
        sa.Column("product_group", sa.String(100), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("unit_price", sa.BigInteger, nullable=False),
        sa.Column("discount_pct", sa.Numeric(5, 2), nullable=False),
        sa.Column("vat_rate_pct", sa.Integer, nullable=False),
        sa.Column("net_amount", sa.BigInteger, nullable=False),
        sa.Column("vat_amount", sa.BigInteger, nullable=False),
        sa.Column("total", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_order_lines_order_id", "order_lines", ["order_id"])

    op.create_table(
        "contracts",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("number", sa.String(20), nullable=False, unique=True),
        sa.Column("order_id", sa.Uuid, sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("customer_id", sa.Uuid, nullable=False),
        sa.Column("owner_id", sa.Uuid, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("ends_on", sa.Date, nullable=False),
        sa.Column("terms", sa.Text, nullable=False),
        _tz("signed_at"),
        _tz("completed_at"),
        _tz("terminated_at"),
        sa.Column("termination_reason", sa.Text),
        sa.Column("created_by", sa.Uuid, nullable=False),
        _tz("created_at", nullable=False, server_default=NOW),
    )
    op.create_index("ix_contracts_order_id", "contracts", ["order_id"])
    op.create_index("ix_contracts_owner_id", "contracts", ["owner_id"])

    op.create_table(
        "number_sequences",
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("last", sa.Integer, nullable=False),
    )

    op.create_table(
        "sales_audit",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(30), nullable=False),
        sa.Column("entity_id", sa.Uuid, nullable=False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("actor_id", sa.Uuid),
        sa.Column("changes", JSONB, nullable=False),
        _tz("at", nullable=False, server_default=NOW),
    )
    op.create_index("ix_sales_audit_entity", "sales_audit", ["entity", "entity_id"])

    op.create_table(
        "performance_facts",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("subject_id", sa.Uuid, nullable=False),
        sa.Column("owner_id", sa.Uuid),
        sa.Column("channel_id", sa.Uuid),
        sa.Column("amount", sa.BigInteger, nullable=False),
        _tz("occurred_at", nullable=False),
        sa.UniqueConstraint("kind", "subject_id", name="uq_performance_facts_kind_subject"),
    )
    op.create_index("ix_performance_facts_occurred_at", "performance_facts", ["occurred_at"])


def downgrade() -> None:
    for table in (
        "performance_facts",
        "sales_audit",
        "number_sequences",
        "contracts",
        "order_lines",
        "orders",
        "quote_lines",
        "quotes",
        "approval_rules",
        "opportunities",
        "product_prices",
        "products",
        "customer_grades",
    ):
        op.drop_table(table)
    op.execute("DELETE FROM sales_customers WHERE lifecycle_stage <> 'traditional'")
    op.alter_column("sales_customers", "opened_at", nullable=False, server_default=sa.func.now())
    op.alter_column("sales_customers", "promoted_at", nullable=False)
    op.drop_column("sales_customers", "registered_at")
    op.drop_column("sales_customers", "grade")
    op.drop_column("sales_customers", "lifecycle_stage")
