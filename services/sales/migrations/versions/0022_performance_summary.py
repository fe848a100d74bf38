"""performance read from a summary: `performance_days`, the facts per day (in the business's
zone), kind, salesperson, channel and province, kept exact by statement-level triggers on
`performance_facts` whoever writes them, and filled from the facts already recorded

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04
"""

import os
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The business's zone (`ServiceSettings.business_timezone`), whose days the summary counts.
ZONE = os.environ.get("BUSINESS_TIMEZONE", "Asia/Ho_Chi_Minh")
KEY = "day, kind, owner_id, channel_id, region_code"


def _day(zone: str) -> str:
    # The zone is the deployment's setting, checked by ServiceSettings; quoted as a literal.
    return "(occurred_at AT TIME ZONE '" + zone.replace("'", "''") + "')::date"


def _sum_into_days(changes: str) -> str:
    """Add `changes` (rows of `KEY`, facts, amount: negative for facts gone) to the summary, in
    key order so that two writers lock the rows they share in the same order."""
    return f"""
        INSERT INTO performance_days AS d ({KEY}, facts, amount)
        SELECT {KEY}, sum(facts), sum(amount) FROM ({changes}) AS c
        GROUP BY {KEY} ORDER BY {KEY}
        ON CONFLICT ({KEY}) DO UPDATE
        SET facts = d.facts + EXCLUDED.facts, amount = d.amount + EXCLUDED.amount"""


def _facts_of(table: str, sign: str) -> str:
    return (
        f"SELECT {_day(ZONE)} AS day, kind, owner_id, channel_id, region_code,"
        f" {sign}1 AS facts, {sign}amount AS amount FROM {table}"
    )


def _function() -> str:
    emptied = f"""
        DELETE FROM performance_days d USING (SELECT DISTINCT {KEY} FROM (
            {_facts_of("old_facts", "")}) AS o) AS gone
        WHERE d.facts = 0 AND d.day = gone.day AND d.kind = gone.kind
          AND d.owner_id IS NOT DISTINCT FROM gone.owner_id
          AND d.channel_id IS NOT DISTINCT FROM gone.channel_id
          AND d.region_code IS NOT DISTINCT FROM gone.region_code"""
    return f"""
CREATE FUNCTION performance_days_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_sum_into_days(_facts_of("new_facts", ""))};
    ELSIF TG_OP = 'DELETE' THEN
        {_sum_into_days(_facts_of("old_facts", "-"))};
        {emptied};
    ELSIF TG_OP = 'UPDATE' THEN
        {_sum_into_days(_facts_of("old_facts", "-") + " UNION ALL " + _facts_of("new_facts", ""))};
        {emptied};
    ELSE
        DELETE FROM performance_days;
    END IF;
    RETURN NULL;
END
$$"""


#: The summary from the facts, in one statement (the upgrade's fill, and a rebuild after the
#: business's zone changes: `DELETE FROM performance_days` then this).
REBUILD = f"""
    INSERT INTO performance_days ({KEY}, facts, amount)
    SELECT {_day(ZONE)}, kind, owner_id, channel_id, region_code, count(*), sum(amount)
    FROM performance_facts GROUP BY 1, 2, 3, 4, 5"""

TRIGGERS = {
    "performance_days_after_insert": "AFTER INSERT ON performance_facts REFERENCING NEW TABLE AS new_facts",
    "performance_days_after_delete": "AFTER DELETE ON performance_facts REFERENCING OLD TABLE AS old_facts",
    "performance_days_after_update": (
        "AFTER UPDATE ON performance_facts REFERENCING OLD TABLE AS old_facts NEW TABLE AS new_facts"
    ),
    "performance_days_after_truncate": "AFTER TRUNCATE ON performance_facts",
}


def upgrade() -> None:
    op.create_table(
        "performance_days",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("owner_id", sa.Uuid),
        sa.Column("channel_id", sa.Uuid),
        sa.Column("region_code", sa.String(10)),
        sa.Column("facts", sa.BigInteger, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
    )
    # Facts written while this runs wait for it (they would miss the fill or the triggers).
    op.execute("LOCK TABLE performance_facts IN SHARE MODE")
    op.execute(REBUILD)
    op.create_index(
        "uq_performance_days_key",
        "performance_days",
        ["day", "kind", "owner_id", "channel_id", "region_code"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    op.create_index("ix_performance_days_owner_day", "performance_days", ["owner_id", "day"])
    op.execute(_function())
    for name, when in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} {when} FOR EACH STATEMENT EXECUTE FUNCTION performance_days_follow()"
        )


def downgrade() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON performance_facts")
    op.execute("DROP FUNCTION performance_days_follow()")
    op.drop_table("performance_days")
