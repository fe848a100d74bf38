"""sales' customer search folded like the customers service's: `name_folded` (`fold(name)`)
on a trigram index, so "hoa phat" finds "Hòa Phát" and a search at a million customers
reads the index, not the table; and indexes in the list's order (by name), for everyone's
list and one salesperson's, so a page reads 50 index entries instead of sorting the table

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm_kit.text import fold

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Rows folded per statement: the fold is Python's (`crm_kit.text.fold`), so the names
#: go out and come back in batches rather than one statement per row.
BATCH = 5000


def upgrade() -> None:
    op.add_column(
        "sales_customers", sa.Column("name_folded", sa.String(200), nullable=False, server_default="")
    )
    bind = op.get_bind()
    after = None
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT id, name FROM sales_customers WHERE (CAST(:after AS uuid) IS NULL OR id > :after)"
                " ORDER BY id LIMIT :batch"
            ),
            {"after": after, "batch": BATCH},
        ).all()
        if not rows:
            break
        bind.execute(
            sa.text(
                "UPDATE sales_customers AS c SET name_folded = v.folded"
                " FROM unnest(CAST(:ids AS uuid[]), CAST(:folded AS text[])) AS v(id, folded)"
                " WHERE c.id = v.id"
            ),
            {"ids": [row.id for row in rows], "folded": [fold(row.name) for row in rows]},
        )
        after = rows[-1].id
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(
        "CREATE INDEX ix_sales_customers_name_folded_trgm"
        " ON sales_customers USING gin (name_folded gin_trgm_ops)"
    )
    op.create_index("ix_sales_customers_list_order", "sales_customers", ["name", "id"])
    op.create_index("ix_sales_customers_owner_list_order", "sales_customers", ["owner_id", "name", "id"])


def downgrade() -> None:
    op.drop_index("ix_sales_customers_owner_list_order", "sales_customers")
    op.drop_index("ix_sales_customers_list_order", "sales_customers")
    op.execute("DROP INDEX ix_sales_customers_name_folded_trgm")
    op.drop_column("sales_customers", "name_folded")
