"""Idempotent consumers: an event's effect happens once per (consumer, event_id)."""

from __future__ import annotations

import uuid

from sqlalchemy import Column, DateTime, PrimaryKeyConstraint, String, Table, Uuid, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from .db import kit_metadata

inbox = Table(
    "inbox",
    kit_metadata,
    Column("consumer", String(100), nullable=False),
    Column("event_id", Uuid, nullable=False),
    Column("routing_key", String(200), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("consumer", "event_id", name="pk_inbox"),
)


async def claim(session: AsyncSession, consumer: str, event_id: uuid.UUID, routing_key: str) -> bool:
    """Record the event in the caller's transaction; False if it was handled before.

    Two replicas handling the same redelivered event race on the primary key: the
    second blocks until the first commits, then sees the conflict and skips.
    """
    result = await session.execute(
        insert(inbox)
        .values(consumer=consumer, event_id=event_id, routing_key=routing_key)
        .on_conflict_do_nothing(index_elements=["consumer", "event_id"])
        .returning(inbox.c.event_id)
    )
    return result.first() is not None
