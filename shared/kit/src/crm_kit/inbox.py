"""Idempotent consumers: an event's effect happens once per (consumer, event_id)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import Column, DateTime, Index, PrimaryKeyConstraint, String, Table, Uuid, func
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
    # Retention deletes by age (crm_kit.retention).
    Index("ix_inbox_received_at", "received_at"),
)


async def claim(session: AsyncSession, consumer: str, event_id: uuid.UUID, routing_key: str) -> bool:
    """Record the event in the caller's transaction; False if it was handled before."""
    return event_id in await claim_many(session, consumer, [(event_id, routing_key)])


async def claim_many(
    session: AsyncSession, consumer: str, events: Iterable[tuple[uuid.UUID, str]]
) -> set[uuid.UUID]:
    """Record events `(event_id, routing_key)` in the caller's transaction, in one
    statement; return the ids not handled before (each once, however often it is given).

    Two replicas handling the same redelivered event race on the primary key: the
    second blocks until the first commits, then sees the conflict and skips. Rows go
    in in event-id order, so two replicas claiming overlapping batches lock them in
    the same order and cannot deadlock on the inbox.
    """
    rows = [
        {"consumer": consumer, "event_id": event_id, "routing_key": routing_key}
        for event_id, routing_key in sorted(dict(events).items())
    ]
    # Parameters apart from the statement: it is compiled once, whatever the batch size.
    result = await session.execute(_CLAIM, rows)
    return set(result.scalars())


_CLAIM = (
    insert(inbox).on_conflict_do_nothing(index_elements=["consumer", "event_id"]).returning(inbox.c.event_id)
)
