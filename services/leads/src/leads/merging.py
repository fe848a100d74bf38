"""Merging two leads of the same person: one is kept, the other folded into it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_kit import errors
from crm_kit.auth import User

from . import domain, history
from .capture import derive
from .domain import Action, Status
from .models import Lead, LeadHistory
from .schemas import MergeRequest

#: What a merge fills in on the kept lead when it is empty there.
FILLABLE = (
    "company",
    "phone",
    "email",
    "region_code",
    "channel_id",
    "campaign_id",
    "planned_contact_on",
    "planned_channel",
    "plan_note",
)


async def merge(session: AsyncSession, lead_id: uuid.UUID, data: MergeRequest, user: User) -> Lead:
    """Fold `data.duplicate_id` into `lead_id`: the kept lead takes what it lacks and
    the duplicate's history; the duplicate stays, marked merged."""
    if data.duplicate_id == lead_id:
        raise errors.Invalid.at(
            ("body", "duplicate_id"), "a lead cannot be merged into itself", code="lead.merge_into_itself"
        )
    kept, duplicate = await _both_locked(session, lead_id, data.duplicate_id, user)
    if not domain.is_open(kept.status):
        raise errors.Conflict(
            f"lead {kept.id} is {kept.status}; only new, contacting or evaluated leads merge",
            code="lead.not_mergeable",
            params={"status": kept.status},
        )
    now = datetime.now(UTC)
    dup_before, kept_before = history.snapshot(duplicate), history.snapshot(kept)
    duplicate.status = domain.transition(duplicate.status, Status.MERGED).value
    duplicate.merged_into_id = kept.id
    duplicate.merged_at = duplicate.updated_at = now

    for name in FILLABLE:
        if getattr(kept, name) in (None, "") and getattr(duplicate, name) not in (None, ""):
            setattr(kept, name, getattr(duplicate, name))
    derive(kept)
    kept.updated_at = now

    await session.execute(
        update(LeadHistory)
        .where(LeadHistory.lead_id == duplicate.id)
        .values(lead_id=kept.id)
        .execution_options(synchronize_session=False)
    )
    changes = history.diff(kept_before, history.snapshot(kept))
    changes["merged_lead_id"] = [None, str(duplicate.id)]
    history.record(session, kept.id, Action.MERGED, user.id, changes, at=now)
    merged_into = history.diff(dup_before, history.snapshot(duplicate))
    history.record(session, duplicate.id, Action.MERGED_INTO, user.id, merged_into, at=now)
    return kept


async def _both_locked(
    session: AsyncSession, lead_id: uuid.UUID, duplicate_id: uuid.UUID, user: User
) -> tuple[Lead, Lead]:
    """The kept lead and the duplicate, locked; either one the caller may not see is 'not found'."""
    # Lock both in one order, so two opposite merges cannot deadlock.
    rows = await session.execute(
        select(Lead).where(Lead.id.in_([lead_id, duplicate_id])).order_by(Lead.id).with_for_update()
    )
    by_id = {lead.id: lead for lead in rows.scalars()}
    kept, duplicate = by_id.get(lead_id), by_id.get(duplicate_id)
    if kept is None or not user.can_see(kept.owner_id):
        raise errors.NotFound("lead", lead_id)
    if duplicate is None or not user.can_see(duplicate.owner_id):
        raise errors.NotFound("lead", duplicate_id)
    return kept, duplicate
