"""customers' owners and names become the kit's copy of customers (crm_kit.customer_copy)

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
    # Every customer accounting has heard of: by its owner, its name or its account.
    # An account older than customer_names holds the newest name it had.
    op.execute(
        """
        INSERT INTO known_customers (customer_id, name, details_as_of, owner_id, owner_as_of,
                                     lifecycle_stage)
        SELECT ids.customer_id, COALESCE(n.name, a.customer_name, ''), n.as_of,
               CASE WHEN o.customer_id IS NULL THEN a.owner_id ELSE o.owner_id END, o.as_of,
               CASE WHEN a.customer_id IS NULL THEN 'prospect' ELSE 'traditional' END
        FROM (SELECT customer_id FROM customer_owners
              UNION SELECT customer_id FROM customer_names
              UNION SELECT customer_id FROM accounts) AS ids
        LEFT JOIN customer_owners o ON o.customer_id = ids.customer_id
        LEFT JOIN customer_names n ON n.customer_id = ids.customer_id
        LEFT JOIN accounts a ON a.customer_id = ids.customer_id
        """
    )
    op.drop_table("customer_names")
    op.drop_table("customer_owners")


def downgrade() -> None:
    op.create_table(
        "customer_owners",
        sa.Column("customer_id", sa.Uuid, primary_key=True),
        sa.Column("owner_id", sa.Uuid),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "customer_names",
        sa.Column("customer_id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
    )
    op.execute(
        "INSERT INTO customer_owners SELECT customer_id, owner_id, owner_as_of FROM known_customers"
        " WHERE owner_as_of IS NOT NULL"
    )
    op.execute(
        "INSERT INTO customer_names SELECT customer_id, name, details_as_of FROM known_customers"
        " WHERE details_as_of IS NOT NULL"
    )
    op.drop_table("known_customers")
