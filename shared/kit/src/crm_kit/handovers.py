"""Who holds a leaver's records now: the hand-overs a service has handled, as a chain.

Offboardings arrive as `PortfolioReassigned` (A -> B), each service moving its own
records. Retries reorder them: with A -> B then B -> C, a service may handle B -> C
first and A -> B after, and A's records would land on B, who has left too. So each
service notes every hand-over it handles and sends records to the *end* of the chain
(`record`: A -> B arriving after B -> C moves A's records to C), and a record made
for a leaver later (a `LeadQualified` for A, handled after A left) goes there too
(`successor`).

    target = await handovers.record(session, event)   # in the PortfolioReassigned handler
    owner = await handovers.successor(session, owner) # before giving someone a new record
    run_env(Base.metadata, ..., handovers.metadata)   # migrations/env.py
    handovers.create_table()                          # in a migration
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import PortfolioReassigned

metadata = sa.MetaData()

#: Longer chains than this are not followed (an offboarding names an active successor,
#: so a chain grows by one per leaver; a cycle is impossible but would stop here).
MAX_CHAIN = 50


def _columns() -> list[sa.Column[object]]:
    return [
        sa.Column("from_user_id", sa.Uuid, primary_key=True),
        sa.Column("to_user_id", sa.Uuid, nullable=False),
        sa.Column("handed_at", sa.DateTime(timezone=True), nullable=False),
    ]


owner_handovers = sa.Table("owner_handovers", metadata, *_columns())
_H = owner_handovers.c


def create_table() -> None:
    """Create the table (call from a service's migration)."""
    op.create_table("owner_handovers", *_columns())


async def record(session: AsyncSession, event: PortfolioReassigned) -> uuid.UUID:
    """Note the hand-over (once) and say who the leaver's records go to: its successor,
    or whoever the successor's records went to since."""
    await session.execute(
        insert(owner_handovers)
        .values(from_user_id=event.from_user_id, to_user_id=event.to_user_id, handed_at=event.reassigned_at)
        .on_conflict_do_nothing(index_elements=[_H.from_user_id])
    )
    return await successor(session, event.to_user_id)


async def successor(session: AsyncSession, user_id: uuid.UUID) -> uuid.UUID:
    """`user_id` if they have not left (that this service knows of), else the end of
    their chain of hand-overs."""
    seen = {user_id}
    current = user_id
    for _ in range(MAX_CHAIN):
        following = await session.scalar(sa.select(_H.to_user_id).where(_H.from_user_id == current))
        if following is None or following in seen:
            return current
        seen.add(following)
        current = following
    return current
