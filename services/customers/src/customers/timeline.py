"""The audit trail: everything that happened to a customer, in order (the customer 360 view).

Every use case records its entries here, in its own transaction.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from .domain import TimelineKind
from .models import TimelineEntry


def record(
    session: AsyncSession,
    customer_id: uuid.UUID,
    kind: TimelineKind,
    actor: uuid.UUID | None,
    detail: dict[str, Any],
) -> None:
    session.add(TimelineEntry(customer_id=customer_id, kind=kind, actor_id=actor, detail=detail))


def entry(
    customer_id: uuid.UUID, kind: TimelineKind, actor: uuid.UUID | None, detail: dict[str, Any]
) -> dict[str, Any]:
    """One row for `record_all`."""
    return {"customer_id": customer_id, "kind": kind, "actor_id": actor, "detail": detail}


async def record_all(session: AsyncSession, entries: list[dict[str, Any]]) -> None:
    """Many entries (an import, a hand-over) in one statement rather than one row at a time."""
    if entries:
        await session.execute(insert(TimelineEntry), entries)


def jsonable(value: Any) -> Any:
    """A value as an entry's JSON detail holds it."""
    return str(value) if isinstance(value, uuid.UUID) else value


async def of_customer(session: AsyncSession, customer_id: uuid.UUID) -> list[TimelineEntry]:
    """The customer's entries, oldest first (the caller has checked it may see the customer)."""
    rows = await session.execute(
        select(TimelineEntry).where(TimelineEntry.customer_id == customer_id).order_by(TimelineEntry.id)
    )
    return list(rows.scalars())
