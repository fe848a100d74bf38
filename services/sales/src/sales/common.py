"""What several of sales' use cases share: the clock, the audit trail, gap-free document
numbers, and the filters of their lists. Each runs in the caller's transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from .domain import AuditAction, Audited, ContractAction, NumberFormat
from .models import AuditEntry, NumberSequence


def utc_now() -> datetime:
    return datetime.now(UTC)


async def audit(
    session: AsyncSession,
    entity: Audited,
    entity_id: uuid.UUID,
    action: AuditAction | ContractAction,
    actor_id: uuid.UUID | None,
    changes: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEntry(
            entity=entity, entity_id=entity_id, action=action, actor_id=actor_id, changes=changes or {}
        )
    )


async def next_number(session: AsyncSession, number: NumberFormat, year: int) -> str:
    """The next number of `number`'s kind in `year`, rendered. The counter row stays locked
    until commit, so numbers are handed out without gaps or repeats across replicas."""
    counted = (
        insert(NumberSequence)
        .values(kind=number.kind, year=year, last=1)
        .on_conflict_do_update(
            index_elements=[NumberSequence.kind, NumberSequence.year],
            set_={"last": NumberSequence.last + 1},
        )
        .returning(NumberSequence.last)
    )
    return number.render(year, int((await session.execute(counted)).scalar_one()))


def where_given(stmt: Select[Any], *filters: tuple[InstrumentedAttribute[Any], object | None]) -> Select[Any]:
    """`stmt` narrowed to the rows whose column equals each value a list was given
    (`(column, None)` leaves that column alone)."""
    for column, value in filters:
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
