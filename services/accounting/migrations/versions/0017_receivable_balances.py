"""today's aging from summaries of what is owed: `receivable_balances` (per customer, the
report's order) and `receivable_dues` (per due date, the report's column totals), kept exact
by statement-level triggers on `invoices` whoever writes them, and filled from the invoices

The aging report summed every invoice that owes (half a million at full size) on each
call to sort the customers, count them and total the columns. A customer's place in the
report is what they owe in all, which does not move with the day; the columns do, so the
totals are kept by due date (a few thousand rows) and bucketed when read.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _owed_of(table: str, sign: str) -> str:
    """What the invoices of `table` (a transition table) owe, `sign`ed: the ones gone or
    changed from are taken off (`-`), the ones new or changed to added."""
    return f"SELECT customer_id, due_date, {sign}balance AS owed FROM {table} WHERE balance > 0"


def _sum_into(summary: str, key: str, changes: str) -> str:
    """Add `changes` to `summary` per `key`, in key order (two writers lock the rows they
    share in the same order); a key whose changes cancel out (a customer's invoices moving
    to another due date, an update of anything but the balance) is not touched, and a key
    left owing nothing loses its row."""
    return f"""
        INSERT INTO {summary} AS s ({key}, owed)
        SELECT {key}, sum(owed) FROM ({changes}) AS c
        GROUP BY {key} HAVING sum(owed) <> 0 ORDER BY {key}
        ON CONFLICT ({key}) DO UPDATE SET owed = s.owed + EXCLUDED.owed;
        DELETE FROM {summary} AS s USING (SELECT DISTINCT {key} FROM ({changes}) AS c) AS k
        WHERE s.{key} = k.{key} AND s.owed = 0"""


def _follow(changes: str) -> str:
    return (
        _sum_into("receivable_balances", "customer_id", changes)
        + ";"
        + _sum_into("receivable_dues", "due_date", changes)
    )


FUNCTION = f"""
CREATE FUNCTION receivables_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_follow(_owed_of("new_invoices", ""))};
    ELSIF TG_OP = 'DELETE' THEN
        {_follow(_owed_of("old_invoices", "-"))};
    ELSIF TG_OP = 'UPDATE' THEN
        {_follow(_owed_of("old_invoices", "-") + " UNION ALL " + _owed_of("new_invoices", ""))};
    ELSE
        DELETE FROM receivable_balances;
        DELETE FROM receivable_dues;
    END IF;
    RETURN NULL;
END
$$"""

#: The summaries from the invoices (the upgrade's fill; a rebuild is `DELETE` then these).
REBUILD = (
    "INSERT INTO receivable_balances (customer_id, owed)"
    " SELECT customer_id, sum(balance) FROM invoices WHERE balance > 0 GROUP BY customer_id",
    "INSERT INTO receivable_dues (due_date, owed)"
    " SELECT due_date, sum(balance) FROM invoices WHERE balance > 0 GROUP BY due_date",
)

TRIGGERS = {
    "receivables_after_insert": "AFTER INSERT ON invoices REFERENCING NEW TABLE AS new_invoices",
    "receivables_after_delete": "AFTER DELETE ON invoices REFERENCING OLD TABLE AS old_invoices",
    "receivables_after_update": (
        "AFTER UPDATE ON invoices REFERENCING OLD TABLE AS old_invoices NEW TABLE AS new_invoices"
    ),
    "receivables_after_truncate": "AFTER TRUNCATE ON invoices",
}


def upgrade() -> None:
    op.create_table(
        "receivable_balances",
        sa.Column("customer_id", sa.Uuid, primary_key=True),
        sa.Column("owed", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "receivable_dues",
        sa.Column("due_date", sa.Date, primary_key=True),
        sa.Column("owed", sa.BigInteger, nullable=False),
    )
    # Invoices written while this runs wait for it (they would miss the fill or the triggers).
    op.execute("LOCK TABLE invoices IN SHARE MODE")
    for statement in REBUILD:
        op.execute(statement)
    op.create_index(
        "ix_receivable_balances_rank",
        "receivable_balances",
        [sa.text("owed DESC"), "customer_id"],
    )
    op.execute("ANALYZE receivable_balances, receivable_dues")
    op.execute(FUNCTION)
    for name, when in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when} FOR EACH STATEMENT EXECUTE FUNCTION receivables_follow()")


def downgrade() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON invoices")
    op.execute("DROP FUNCTION receivables_follow()")
    op.drop_table("receivable_dues")
    op.drop_table("receivable_balances")
