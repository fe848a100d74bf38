"""revenue read from a summary: `revenue_months`, the revenue facts per month (of
`order_date`), province, channel, salesperson and product group, kept exact by
statement-level triggers on `revenue_facts` whoever writes them (orders, credit notes,
cancellations, merges, re-mapped provinces, bulk loads), and filled from the facts
already recorded

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

KEY = "month, region_code, channel_id, owner_id, product_group"


def _facts_of(table: str, sign: str) -> str:
    return (
        "SELECT date_trunc('month', order_date::timestamp)::date AS month, region_code, channel_id, owner_id,"
        f" product_group, {sign}1 AS lines, {sign}net_amount AS net_amount FROM {table}"
    )


def _sum_into_months(changes: str) -> str:
    """Add `changes` (rows of `KEY`, lines, net_amount: negative for facts gone) to the
    summary in key order (two writers lock the rows they share in the same order), skipping
    keys whose changes cancel out (a merge moves facts between customers, not keys), and
    remove the rows left without a fact."""
    return f"""
        WITH summed AS (
            INSERT INTO revenue_months AS m ({KEY}, lines, net_amount)
            SELECT {KEY}, sum(lines), sum(net_amount) FROM ({changes}) AS c
            GROUP BY {KEY} HAVING sum(lines) <> 0 OR sum(net_amount) <> 0 ORDER BY {KEY}
            ON CONFLICT ({KEY}) DO UPDATE
            SET lines = m.lines + EXCLUDED.lines, net_amount = m.net_amount + EXCLUDED.net_amount
            RETURNING m.id, m.lines
        )
        SELECT array_agg(id) FILTER (WHERE lines = 0) INTO emptied FROM summed;
        IF emptied IS NOT NULL THEN
            DELETE FROM revenue_months WHERE id = ANY (emptied);
        END IF"""


def _function() -> str:
    return f"""
CREATE FUNCTION revenue_months_follow() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    emptied bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_sum_into_months(_facts_of("new_facts", ""))};
    ELSIF TG_OP = 'DELETE' THEN
        {_sum_into_months(_facts_of("old_facts", "-"))};
    ELSIF TG_OP = 'UPDATE' THEN
        {_sum_into_months(_facts_of("old_facts", "-") + " UNION ALL " + _facts_of("new_facts", ""))};
    ELSE
        DELETE FROM revenue_months;
    END IF;
    RETURN NULL;
END
$$"""


#: The summary from the facts, in one statement (the upgrade's fill; a rebuild is
#: `DELETE FROM revenue_months` then this, with the facts locked).
REBUILD = f"""
    INSERT INTO revenue_months ({KEY}, lines, net_amount)
    SELECT date_trunc('month', order_date::timestamp)::date, region_code, channel_id, owner_id, product_group,
           count(*), sum(net_amount)
    FROM revenue_facts GROUP BY 1, 2, 3, 4, 5"""

TRIGGERS = {
    "revenue_months_after_insert": "AFTER INSERT ON revenue_facts REFERENCING NEW TABLE AS new_facts",
    "revenue_months_after_delete": "AFTER DELETE ON revenue_facts REFERENCING OLD TABLE AS old_facts",
    "revenue_months_after_update": (
        "AFTER UPDATE ON revenue_facts REFERENCING OLD TABLE AS old_facts NEW TABLE AS new_facts"
    ),
    "revenue_months_after_truncate": "AFTER TRUNCATE ON revenue_facts",
}


def upgrade() -> None:
    op.create_table(
        "revenue_months",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("month", sa.Date, nullable=False),
        sa.Column("region_code", sa.String(3)),
        sa.Column("channel_id", sa.Uuid),
        sa.Column("owner_id", sa.Uuid),
        sa.Column("product_group", sa.String(100), nullable=False),
        sa.Column("lines", sa.BigInteger, nullable=False),
        sa.Column("net_amount", sa.BigInteger, nullable=False),
    )
    # Facts written while this runs wait for it (they would miss the fill or the triggers).
    op.execute("LOCK TABLE revenue_facts IN SHARE MODE")
    op.execute(REBUILD)
    op.create_index(
        "uq_revenue_months_key",
        "revenue_months",
        ["month", "region_code", "channel_id", "owner_id", "product_group"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    op.execute(_function())
    for name, when in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} {when} FOR EACH STATEMENT EXECUTE FUNCTION revenue_months_follow()"
        )
    op.execute("ANALYZE revenue_months")


def downgrade() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON revenue_facts")
    op.execute("DROP FUNCTION revenue_months_follow()")
    op.drop_table("revenue_months")
