"""product groups as a managed list: `product_groups`, seeded from the groups products
name today and each announced once (ProductGroupChanged, so marketing knows them), and
each product's group a foreign key to it

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from crm_contracts import Envelope, ProductGroupChanged
from crm_kit.outbox import outbox
from crm_kit.text import fold

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "product_groups",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("code", sa.String(100), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("code_folded", sa.String(100), nullable=False, unique=True),
        sa.Column("name_folded", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    # Every group a product names today becomes one of the list, named as it is written
    # (a manager renames it).
    bind = op.get_bind()
    used = bind.execute(sa.text("SELECT DISTINCT product_group FROM products")).scalars().all()
    # Two spellings of one group ("máy bơm", "May bom") stay two: each product keeps its own.
    # Only the second one's folded code is made unique, so no product changes group here.
    rows, seen = [], set()
    for code in sorted(used):
        folded = fold(code)
        while folded in seen:
            folded += "~"
        seen.add(folded)
        rows.append({"id": uuid.uuid4(), "code": code, "code_folded": folded, "name_folded": fold(code)})
    if rows:
        bind.execute(
            sa.text(
                "INSERT INTO product_groups (id, code, name, code_folded, name_folded)"
                " VALUES (:id, :code, :code, :code_folded, :name_folded)"
            ),
            rows,
        )
        bind.execute(outbox.insert(), [_announced(row["code"]) for row in rows])
    op.create_foreign_key(
        "fk_products_product_group", "products", "product_groups", ["product_group"], ["code"]
    )


def _announced(code: str) -> dict[str, object]:
    event = ProductGroupChanged(code=code, name=code, active=True, changed_at=datetime.now(UTC))
    envelope = Envelope.wrap(event, correlation_id="migration-0020-product-groups")
    return {
        "event_id": envelope.event_id,
        "routing_key": envelope.routing_key,
        "correlation_id": envelope.correlation_id,
        "body": envelope.model_dump_json().encode(),
        "headers": {},
    }


def downgrade() -> None:
    op.drop_constraint("fk_products_product_group", "products", type_="foreignkey")
    op.drop_table("product_groups")
