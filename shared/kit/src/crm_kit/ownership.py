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
from collections.abc import Iterable
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
    """Record that `owner_id` owned the customer at `as_of`; return the newest known owner."""
    return (await record_owners(session, [(customer_id, owner_id, as_of)]))[customer_id]


async def record_owners(
    session: AsyncSession, facts: Iterable[tuple[uuid.UUID, uuid.UUID | None, datetime]]
) -> dict[uuid.UUID, uuid.UUID | None]:
    """`record_owner` for many `(customer_id, owner_id, as_of)` facts in one statement;
    the newest known owner of each customer.

    A customer's row is inserted, or takes the owner only if `as_of` is newer than
    what it has; its owner comes back either way. Of several facts about one customer,
    the newest counts (the first of equally new ones), as if recorded one by one.
    """
    newest: dict[uuid.UUID, tuple[uuid.UUID | None, datetime]] = {}
    for customer_id, owner_id, as_of in facts:
        if customer_id not in newest or newest[customer_id][1] < as_of:
            newest[customer_id] = (owner_id, as_of)
    if not newest:
        return {}
    rows = [
        {"customer_id": customer_id, "owner_id": owner_id, "as_of": as_of}
        for customer_id, (owner_id, as_of) in sorted(newest.items())
    ]
    return {row.customer_id: row.owner_id for row in await session.execute(_RECORD, rows)}


def _record_statement() -> sa.Executable:
    stmt = insert(customer_owners)
    newer = customer_owners.c.as_of < stmt.excluded.as_of
    return stmt.on_conflict_do_update(
        index_elements=[customer_owners.c.customer_id],
        set_={
            "owner_id": sa.case((newer, stmt.excluded.owner_id), else_=customer_owners.c.owner_id),
            "as_of": sa.func.greatest(customer_owners.c.as_of, stmt.excluded.as_of),
        },
    ).returning(customer_owners.c.customer_id, customer_owners.c.owner_id)


#: Built once; its parameters come with each call (compiled once, whatever their number).
_RECORD = _record_statement()
