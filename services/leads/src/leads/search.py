"""Finding leads: the one a caller asks for, and the list they filter and search.

Object-level rules live here: a salesperson sees their own leads, and a stranger's
lead is 'not found' (403 would tell them it exists).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_kit.auth import User
from crm_kit.http import PageParams
from crm_kit.queries import fetch_page, one_visible, visible_to
from crm_kit.text import fold

from .domain import Source, Status
from .models import Lead


async def get_visible(
    session: AsyncSession, lead_id: uuid.UUID, user: User, *, for_update: bool = False
) -> Lead:
    """The lead if the caller may see it; a stranger's lead is 'not found'."""
    stmt = select(Lead).where(Lead.id == lead_id)
    lead: Lead = await one_visible(session, stmt, user, kind="lead", key=lead_id, lock=for_update)
    return lead


@dataclass(frozen=True)
class LeadFilters:
    statuses: Sequence[Status] = ()
    source: Source | None = None
    owner_id: uuid.UUID | None = None
    campaign_id: uuid.UUID | None = None
    region_code: str | None = None
    q: str | None = None


async def list_page(
    session: AsyncSession, user: User, page: PageParams, filters: LeadFilters
) -> tuple[list[Lead], int]:
    """Leads the caller may see. Merged leads are left out unless asked for by status."""
    stmt = visible_to(select(Lead), Lead.owner_id, user)
    if filters.statuses:
        stmt = stmt.where(Lead.status.in_([s.value for s in filters.statuses]))
    else:
        stmt = stmt.where(Lead.status != Status.MERGED.value)
    if filters.source:
        stmt = stmt.where(Lead.source == filters.source)
    if filters.owner_id:
        stmt = stmt.where(Lead.owner_id == filters.owner_id)
    if filters.campaign_id:
        stmt = stmt.where(Lead.campaign_id == filters.campaign_id)
    if filters.region_code:
        stmt = stmt.where(Lead.region_code == filters.region_code.upper())
    if filters.q and (condition := search_condition(filters.q)) is not None:
        stmt = stmt.where(condition)
    return await fetch_page(session, stmt, page, Lead.created_at.desc(), Lead.id)


_PHONEISH = re.compile(r"[0-9+\s.\-()/]+")


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_condition(q: str) -> Any:
    """What `?q=` matches: the folded name and company, the e-mail and a phone-like query's
    digits, each `LIKE '%q%'`, answered by their trigram indexes (migration 0009)."""
    conditions = []
    folded = fold(q)
    if folded:
        conditions += [
            Lead.name_folded.like(_like(folded), escape="\\"),
            Lead.company_folded.like(_like(folded), escape="\\"),
            Lead.email.like(_like(q.strip().lower()), escape="\\"),
        ]
    digits = re.sub(r"\D", "", q)
    # Only a query that looks like a phone number searches phones ("Đức Phát 300" does not).
    if _PHONEISH.fullmatch(q.strip()) and len(digits) >= 3:
        conditions.append(Lead.phone_normalized.like(_like(digits), escape="\\"))
        if q.strip().startswith("+84") or (digits.startswith("84") and len(digits) >= 11):
            conditions.append(Lead.phone_normalized.like(_like("0" + digits[2:]), escape="\\"))
    return or_(*conditions) if conditions else None
