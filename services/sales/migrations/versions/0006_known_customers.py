"""customers' owners, details, deactivations and grades become the kit's copy of
customers (crm_kit.customer_copy)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm_kit import customer_copy

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    customer_copy.create_table()
    # Every customer sales has heard of, by any of its four tables. Where only sales'
    # record knows a part (it predates the table that keeps its time), the record's
    # value is kept with no time: the next fact about that part counts.
    op.execute(
        """
        INSERT INTO known_customers (customer_id, name, region_code, channel_id, details_as_of,
                                     owner_id, owner_as_of, lifecycle_stage, stage_as_of,
                                     grade, score, graded_at)
        SELECT ids.id,
               CASE WHEN d.as_of IS NOT NULL THEN d.name ELSE COALESCE(s.name, '') END,
               CASE WHEN d.as_of IS NOT NULL THEN d.region_code ELSE s.region_code END,
               CASE WHEN d.as_of IS NOT NULL THEN d.channel_id ELSE s.channel_id END,
               d.as_of,
               CASE WHEN o.customer_id IS NOT NULL THEN o.owner_id ELSE s.owner_id END,
               o.as_of,
               CASE WHEN s.id IS NOT NULL THEN s.lifecycle_stage
                    WHEN d.deactivated_at IS NOT NULL THEN 'inactive'
                    ELSE 'prospect' END,
               CASE WHEN s.id IS NOT NULL THEN s.stage_as_of ELSE d.deactivated_at END,
               COALESCE(g.grade, s.grade), g.score, g.graded_at
        FROM (SELECT id FROM sales_customers
              UNION SELECT customer_id FROM customer_details
              UNION SELECT customer_id FROM customer_owners
              UNION SELECT customer_id FROM customer_grades) AS ids (id)
        LEFT JOIN sales_customers s ON s.id = ids.id
        LEFT JOIN customer_details d ON d.customer_id = ids.id
        LEFT JOIN customer_owners o ON o.customer_id = ids.id
        LEFT JOIN customer_grades g ON g.customer_id = ids.id
        """
    )
    op.drop_table("customer_details")
    op.drop_table("customer_owners")
    op.drop_table("customer_grades")


def downgrade() -> None:
    op.create_table(
        "customer_owners",
        sa.Column("customer_id", sa.Uuid, primary_key=True),
        sa.Column("owner_id", sa.Uuid),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "customer_details",
        sa.Column("customer_id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.String(200)),
        sa.Column("region_code", sa.String(10)),
        sa.Column("channel_id", sa.Uuid),
        sa.Column("as_of", sa.DateTime(timezone=True)),
        sa.Column("deactivated_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "customer_grades",
        sa.Column("customer_id", sa.Uuid, primary_key=True),
        sa.Column("grade", sa.String(40), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("graded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.execute(
        "INSERT INTO customer_owners SELECT customer_id, owner_id, owner_as_of FROM known_customers"
        " WHERE owner_as_of IS NOT NULL"
    )
    op.execute(
        "INSERT INTO customer_details SELECT customer_id, name, region_code, channel_id, details_as_of,"
        " CASE WHEN lifecycle_stage = 'inactive' THEN stage_as_of END FROM known_customers"
        " WHERE details_as_of IS NOT NULL OR lifecycle_stage = 'inactive'"
    )
    op.execute(
        "INSERT INTO customer_grades SELECT customer_id, grade, score, graded_at FROM known_customers"
        " WHERE graded_at IS NOT NULL AND score IS NOT NULL"
    )
    op.drop_table("known_customers")
