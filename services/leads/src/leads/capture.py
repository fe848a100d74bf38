"""Capturing a lead and editing what was typed about it, both checked against the leads
that look like the same person (the duplicate warning).

Each use case takes a session inside the caller's transaction, audits what it changed
in `lead_history`, and writes its events to the outbox in that same transaction.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_kit import errors
from crm_kit.auth import User
from crm_kit.outbox import emit
from crm_kit.text import fold, normalize_vn_phone

from . import domain, events, history
from .domain import Action, MatchKeys, MatchKind, Status
from .models import Lead, LeadHistory
from .owners import MANAGERS, check_owner
from .schemas import CAPTURED_FIELDS, ApproachPlan, DuplicateOut, LeadCreate, LeadUpdate
from .search import get_visible

#: Advisory-lock classes for the duplicate check, which reads then writes: captures
#: and edits hold the first shared and lock each key they write; an import holds it
#: exclusively (a file can have thousands of keys, too many to lock one by one).
_DEDUPE_ALL = 730_001
_DEDUPE_KEY = 730_002

#: What an edit may change (the rest changes only through its own operation).
EDITABLE = ("full_name", "company", "phone", "email", "region_code", "channel_id", "campaign_id")


async def capture(session: AsyncSession, data: LeadCreate, user: User) -> Lead:
    """A new lead, owned by the caller unless a manager names someone."""
    owner_id = data.owner_id or user.id
    if owner_id != user.id and user.role not in MANAGERS:
        raise errors.Forbidden(
            "only a sales manager or an admin may capture a lead for someone else",
            code="lead.capture_for_other_forbidden",
        )
    await check_owner(session, owner_id)
    lead = new_lead(data, owner_id, datetime.now(UTC))
    await _refuse_duplicates(session, user, keys_of(lead), confirmed=data.confirm_duplicate)
    session.add(lead)
    await session.flush()
    await session.execute(insert(LeadHistory), [history.entered(lead, Action.CAPTURED, user)])
    await emit(session, events.captured(lead), actor=user.id)
    return lead


async def edit(session: AsyncSession, lead_id: uuid.UUID, data: LeadUpdate, user: User) -> Lead:
    """Change what was typed about an open lead; re-checks duplicates on changed keys."""
    lead = await get_visible(session, lead_id, user, for_update=True)
    if not domain.is_open(lead.status):
        raise errors.Conflict(
            f"a {lead.status} lead cannot be edited; only new, contacting or evaluated ones",
            code="lead.not_editable",
            params={"status": lead.status},
        )
    before, old_keys = history.snapshot(lead), keys_of(lead)
    given = data.model_fields_set
    for name in EDITABLE:
        if name in given:
            setattr(lead, name, getattr(data, name))
    if "approach_plan" in given:
        _plan(lead, data.approach_plan)
    derive(lead)
    changes = history.diff(before, history.snapshot(lead))
    if not changes:
        return lead
    new_keys = keys_of(lead)
    # Only keys the edit changed: a match the owner confirmed at capture does not ask again.
    changed: set[MatchKind] = {k for k in domain.MATCH_KINDS if getattr(new_keys, k) != getattr(old_keys, k)}
    await _refuse_duplicates(
        session, user, new_keys.only(changed), confirmed=data.confirm_duplicate, exclude=lead.id
    )
    lead.updated_at = datetime.now(UTC)
    history.record(session, lead.id, Action.UPDATED, user.id, changes)
    return lead


def new_lead(data: LeadCreate, owner_id: uuid.UUID, now: datetime) -> Lead:
    """The lead `data` captures, owned by `owner_id`; not yet in the session."""
    lead = Lead(
        id=uuid.uuid4(),
        **data.model_dump(include=set(CAPTURED_FIELDS)),
        owner_id=owner_id,
        status=Status.NEW.value,
        created_at=now,
        updated_at=now,
    )
    _plan(lead, data.approach_plan)
    derive(lead)
    return lead


def _plan(lead: Lead, plan: ApproachPlan | None) -> None:
    lead.planned_contact_on = plan.planned_contact_on if plan else None
    lead.planned_channel = plan.planned_channel if plan else None
    lead.plan_note = plan.note if plan else None


def derive(lead: Lead) -> None:
    """Keep the matching and search forms in step with what people typed."""
    lead.phone_normalized = normalize_vn_phone(lead.phone) if lead.phone else None
    lead.name_folded = fold(lead.full_name)
    lead.company_folded = fold(lead.company)


def keys_of(lead: Lead) -> MatchKeys:
    return MatchKeys(
        phone=lead.phone_normalized,
        email=lead.email,
        company_name=(lead.company_folded, lead.name_folded) if lead.company_folded else None,
    )


# -- duplicates --------------------------------------------------------------------


async def lock_every_key(session: AsyncSession) -> None:
    """Hold the duplicate check to this transaction alone (an import checks thousands of keys)."""
    await session.execute(select(func.pg_advisory_xact_lock(_DEDUPE_ALL, 0)))


async def _lock_keys(session: AsyncSession, keys: MatchKeys) -> None:
    await session.execute(select(func.pg_advisory_xact_lock_shared(_DEDUPE_ALL, 0)))
    for key in sorted(keys.lookups()):
        await session.execute(select(func.pg_advisory_xact_lock(_DEDUPE_KEY, func.hashtext(key))))


async def find_duplicates(
    session: AsyncSession, keys: MatchKeys, *, exclude: uuid.UUID | None = None, limit: int = 20
) -> list[tuple[Lead, list[MatchKind]]]:
    """Leads (not merged ones) that look like the same person, and on what."""
    conditions = []
    if keys.phone:
        conditions.append(Lead.phone_normalized == keys.phone)
    if keys.email:
        conditions.append(Lead.email == keys.email)
    if keys.company_name:
        company, name = keys.company_name
        conditions.append(and_(Lead.company_folded == company, Lead.name_folded == name))
    if not conditions:
        return []
    stmt = select(Lead).where(or_(*conditions), Lead.status != Status.MERGED.value)
    if exclude is not None:
        stmt = stmt.where(Lead.id != exclude)
    rows = await session.execute(stmt.order_by(Lead.created_at, Lead.id).limit(limit))
    return [(lead, domain.matched_on(keys, keys_of(lead))) for lead in rows.scalars()]


def _shown_to(user: User, found: list[tuple[Lead, list[MatchKind]]]) -> list[dict[str, Any]]:
    """A lead the caller may not see still blocks, but shows only that it exists."""
    out = []
    for lead, on in found:
        shown = DuplicateOut(
            id=lead.id,
            status=Status(lead.status),
            matched_on=on,
            full_name=lead.full_name,
            company=lead.company,
            phone=lead.phone,
            email=lead.email,
            owner_id=lead.owner_id,
        )
        limited = None if user.can_see(lead.owner_id) else {"id", "status", "matched_on"}
        out.append(shown.model_dump(mode="json", include=limited))
    return out


async def _refuse_duplicates(
    session: AsyncSession, user: User, keys: MatchKeys, *, confirmed: bool, exclude: uuid.UUID | None = None
) -> None:
    if not keys or confirmed:
        return
    await _lock_keys(session, keys)
    found = await find_duplicates(session, keys, exclude=exclude)
    if found:
        duplicates = _shown_to(user, found)
        raise errors.Conflict(
            "possible duplicates",
            code="lead.possible_duplicates",
            detail={"message": "possible duplicates", "duplicates": duplicates},
        )
