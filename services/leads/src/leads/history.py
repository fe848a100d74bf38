"""The audit trail: everything done to a lead, as `{field: [old, new]}`, in `lead_history`.

Every use case that changes a lead snapshots it before, diffs after, and records the
difference in the caller's transaction.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_kit.auth import User
from crm_kit.http import PageParams
from crm_kit.queries import fetch_page

from .domain import Action
from .models import Lead, LeadHistory
from .search import get_visible

#: Fields the audit trail follows, as `{field: [old, new]}`.
TRACKED = (
    "full_name",
    "company",
    "phone",
    "email",
    "source",
    "region_code",
    "channel_id",
    "campaign_id",
    "owner_id",
    "status",
    "planned_contact_on",
    "planned_channel",
    "plan_note",
    "contact_note",
    "promising",
    "evaluation_note",
    "disqualify_reason",
    "disqualify_note",
    "customer_id",
    "opportunity_id",
    "merged_into_id",
)


async def list_page(
    session: AsyncSession, lead_id: uuid.UUID, user: User, page: PageParams
) -> tuple[list[LeadHistory], int]:
    await get_visible(session, lead_id, user)
    stmt = select(LeadHistory).where(LeadHistory.lead_id == lead_id)
    return await fetch_page(session, stmt, page, LeadHistory.at, LeadHistory.id)


def snapshot(lead: Lead) -> dict[str, Any]:
    return {name: _jsonable(getattr(lead, name)) for name in TRACKED}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def record(
    session: AsyncSession,
    lead_id: uuid.UUID,
    action: Action,
    actor: uuid.UUID | None,
    changes: dict[str, list[Any]],
    at: datetime | None = None,
) -> None:
    at = at or datetime.now(UTC)
    session.add(LeadHistory(lead_id=lead_id, action=action, actor_id=actor, changes=changes, at=at))


def record_change(
    session: AsyncSession, lead: Lead, action: Action, actor: uuid.UUID | None, before: dict[str, Any]
) -> None:
    """What `action` changed on `lead` since its snapshot `before`."""
    record(session, lead.id, action, actor, diff(before, snapshot(lead)))


def entered(lead: Lead, action: Action, actor: User) -> dict[str, Any]:
    """The history row of a lead entering the pipeline: every value it came with."""
    changes = {k: [None, v] for k, v in snapshot(lead).items() if v is not None}
    return {
        "lead_id": lead.id,
        "at": lead.created_at,
        "actor_id": actor.id,
        "action": action,
        "changes": changes,
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value
