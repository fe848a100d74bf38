"""What sales knows of marketing's channels: each one's kind, from `ChannelChanged` (newest
wins, whatever order the events arrive in), so a quote finds the price list of its
customer's channel kind without asking marketing."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import ChannelChanged

from .models import KnownChannel


async def channel_changed(session: AsyncSession, event: ChannelChanged) -> None:
    """Keep the channel's name and kind unless a newer change is known already."""
    stmt = insert(KnownChannel).values(
        channel_id=event.channel_id, name=event.name, kind=event.kind, changed_at=event.changed_at
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[KnownChannel.channel_id],
            set_={column: stmt.excluded[column] for column in ("name", "kind", "changed_at")},
            where=KnownChannel.changed_at < stmt.excluded.changed_at,
        )
    )


async def kind_of(session: AsyncSession, channel_id: uuid.UUID | None) -> str | None:
    """The channel's kind, or None: no channel, or one whose ChannelChanged has not arrived."""
    if channel_id is None:
        return None
    kind: str | None = await session.scalar(
        select(KnownChannel.kind).where(KnownChannel.channel_id == channel_id)
    )
    return kind
