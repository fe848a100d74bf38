"""A member of staff's leads as a portfolio: what they hold, and the hand-over when
they leave (PortfolioReassigned)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_kit import directory

from .domain import Action
from .models import Lead, LeadHistory


class UnknownStaff(Exception):
    """A member of staff the directory has not heard of (yet)."""


async def reassign(
    session: AsyncSession, from_user_id: uuid.UUID, to_user_id: uuid.UUID, actor: uuid.UUID | None
) -> int:
    """Every lead of `from_user_id`, whatever its status, to `to_user_id`; each move audited."""
    if await directory.by_id(session, to_user_id) is None:
        raise UnknownStaff(f"{to_user_id} is not in the staff directory yet")
    if from_user_id == to_user_id:
        return 0
    now = datetime.now(UTC)
    moved = (
        await session.execute(
            update(Lead)
            .where(Lead.owner_id == from_user_id)
            .values(owner_id=to_user_id, updated_at=now)
            .returning(Lead.id)
            .execution_options(synchronize_session=False)
        )
    ).scalars()
    entries = [
        {
            "lead_id": lead_id,
            "at": now,
            "actor_id": actor,
            "action": Action.REASSIGNED,
            "changes": {"owner_id": [str(from_user_id), str(to_user_id)]},
        }
        for lead_id in moved
    ]
    if entries:
        await session.execute(insert(LeadHistory), entries)
    return len(entries)


async def holdings(session: AsyncSession, user_id: uuid.UUID) -> dict[str, int]:
    """Every lead the person owns, whatever its status (kinds must not overlap: the
    gateway adds them up)."""
    total = await session.scalar(select(func.count()).where(Lead.owner_id == user_id))
    return {"leads": int(total or 0)}
