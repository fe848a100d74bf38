"""the aging report's indexes: what each invoice owed on a past day, and what is owed today

For a past day the report sums each invoice's ledger entries up to it. At a million
invoices Postgres walked the ledger by invoice through the heap, in random order (tens of
seconds); with the day and the amount in the index it reads the index alone. For today it
reads the invoices that owe something, by customer, from a partial index that holds all
the report needs.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_ledger_entries_invoice_owed"
        " ON ledger_entries (invoice_id, entry_date) INCLUDE (amount)"
    )
    op.execute(
        "CREATE INDEX ix_invoices_owed ON invoices (customer_id)"
        " INCLUDE (due_date, balance, issue_date) WHERE balance > 0"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_invoices_owed")
    op.execute("DROP INDEX ix_ledger_entries_invoice_owed")
