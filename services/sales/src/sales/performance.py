"""Salesperson performance, counted from facts sales keeps: lead outcomes and prospects
from the events it consumes, quotes and orders from its own operations."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import LeadCaptured, LeadDisqualified, LeadQualified
from crm_kit.auth import Role, User

from . import performance_rules as rules
from .models import PerformanceFact
from .performance_rules import FactKind, Grouping
from .settings import Settings

#: Roles that see everyone's performance; a salesperson sees their own.
SEES_EVERYONE = frozenset({Role.ADMIN, Role.SALES_MANAGER})

Key = tuple[uuid.UUID | None, uuid.UUID | None]


async def record_fact(
    session: AsyncSession,
    kind: FactKind,
    subject_id: uuid.UUID,
    *,
    owner_id: uuid.UUID | None,
    channel_id: uuid.UUID | None,
    occurred_at: datetime,
    amount: int = 0,
) -> None:
    """Count `kind` for `subject_id` once, however often the events behind it repeat."""
    await session.execute(
        insert(PerformanceFact)
        .values(
            kind=kind,
            subject_id=subject_id,
            owner_id=owner_id,
            channel_id=channel_id,
            occurred_at=occurred_at,
            amount=amount,
        )
        .on_conflict_do_nothing(constraint="uq_performance_facts_kind_subject")
    )


async def lead_captured(session: AsyncSession, event: LeadCaptured) -> None:
    await _lead_fact(session, FactKind.LEAD_CAPTURED, event, event.captured_at)


async def lead_qualified(session: AsyncSession, event: LeadQualified) -> None:
    await _lead_fact(session, FactKind.LEAD_QUALIFIED, event, event.qualified_at)


async def lead_disqualified(session: AsyncSession, event: LeadDisqualified) -> None:
    await _lead_fact(session, FactKind.LEAD_DISQUALIFIED, event, event.disqualified_at)


async def _lead_fact(
    session: AsyncSession,
    kind: FactKind,
    event: LeadCaptured | LeadQualified | LeadDisqualified,
    occurred_at: datetime,
) -> None:
    """A lead's outcome, counted for its owner in its channel at the time the event states."""
    await record_fact(
        session,
        kind,
        event.lead_id,
        owner_id=event.owner_id,
        channel_id=event.channel_id,
        occurred_at=occurred_at,
    )


async def report(
    session: AsyncSession,
    user: User,
    period: rules.Period,
    by: Grouping,
    settings: Settings,
    *,
    owner_id: uuid.UUID | None = None,
) -> list[tuple[Key, rules.Performance]]:
    """One row per salesperson, channel, or both, in `period`; revenue growth compares with
    the period of the same length before it. A salesperson only ever gets their own."""
    fact = PerformanceFact
    if user.role not in SEES_EVERYONE:
        owner_id = user.id
    keys = {
        "salesperson": (fact.owner_id,),
        "channel": (fact.channel_id,),
        "salesperson_channel": (fact.owner_id, fact.channel_id),
    }[by]
    start, end = settings.start_of(period.start), settings.start_of(period.end)
    previous_start = settings.start_of(period.previous().start)

    window = [fact.occurred_at >= start, fact.occurred_at < end]
    previous_window = [fact.occurred_at >= previous_start, fact.occurred_at < start]
    mine = [] if owner_id is None else [fact.owner_id == owner_id]
    current = (
        select(*keys, fact.kind, func.count(), func.coalesce(func.sum(fact.amount), 0))
        .where(*window, *mine)
        .group_by(*keys, fact.kind)
    )
    previous = (
        select(*keys, func.coalesce(func.sum(fact.amount), 0))
        .where(fact.kind == FactKind.ORDER_PLACED, *previous_window, *mine)
        .group_by(*keys)
    )

    def key_of(values: tuple[object, ...]) -> Key:
        named = dict(zip(by.split("_"), values, strict=True))
        return (named.get("salesperson"), named.get("channel"))  # type: ignore[return-value]

    counts: dict[Key, dict[FactKind, tuple[int, int]]] = defaultdict(dict)
    for row in await session.execute(current):
        *group, kind, count, amount = row
        counts[key_of(tuple(group))][FactKind(kind)] = (int(count), int(amount))
    previous_revenue: dict[Key, int] = {}
    for row in await session.execute(previous):
        *group, amount = row
        previous_revenue[key_of(tuple(group))] = int(amount)

    found = set(counts) | set(previous_revenue)
    if by == "salesperson" and owner_id is not None:
        found.add((owner_id, None))  # their own row, even when it is all zeros
    rows = [(key, rules.performance(counts.get(key, {}), previous_revenue.get(key, 0))) for key in found]
    rows.sort(key=lambda kv: (-kv[1].revenue, str(kv[0][0]), str(kv[0][1])))
    return rows
