"""Who owns each customer now, as a service learns it from events in any order.

The owner reaches a service on several events (a promotion carries the owner at
that moment, a reassignment the new one) that may arrive out of order across
queues and retries. `record_owner` keeps the newest by the time the customers
service stamped on it, so an old event can never hand a customer back:

    owner = await ownership.record_owner(session, customer_id, event.owner_id, event.promoted_at)

    run_env(Base.metadata, ownership.metadata)   # migrations/env.py
    ownership.create_table()                     # a migration
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

metadata = sa.MetaData()

customer_owners = sa.Table(
    "customer_owners",
    metadata,
    sa.Column("customer_id", sa.Uuid, primary_key=True),
    sa.Column("owner_id", sa.Uuid),
    sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
)


def create_table() -> None:
    op.create_table(
        "customer_owners",
        sa.Column("customer_id", sa.Uuid, primary_key=True),
        sa.Column("owner_id", sa.Uuid),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
    )


async def record_owner(
    session: AsyncSession, customer_id: uuid.UUID, owner_id: uuid.UUID | None, as_of: datetime
) -> uuid.UUID | None:
    """Record that `owner_id` owned the customer at `as_of`; return the newest known owner.

    One statement: the row is inserted, or updated to this owner only if `as_of` is
    newer than what it has, and the row's owner comes back either way.
    """
    stmt = insert(customer_owners).values(customer_id=customer_id, owner_id=owner_id, as_of=as_of)
    newer = customer_owners.c.as_of < stmt.excluded.as_of
    upsert = stmt.on_conflict_do_update(
        index_elements=[customer_owners.c.customer_id],
        set_={
            "owner_id": sa.case((newer, stmt.excluded.owner_id), else_=customer_owners.c.owner_id),
            "as_of": sa.func.greatest(customer_owners.c.as_of, stmt.excluded.as_of),
        },
    ).returning(customer_owners.c.owner_id)
    return (await session.execute(upsert)).scalar_one()
