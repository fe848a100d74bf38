"""The facts salesperson performance is counted from: lead outcomes and prospects from the
events sales consumes, quotes and orders from its own operations, each with its owner,
channel and province. The report over them is `performance_report.py` (which reads their
per-day summary, `PerformanceDay`, kept by triggers on every write), the care counted
beside them `care.py`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import LeadCaptured, LeadDisqualified, LeadQualified

from .models import PerformanceFact, Quote, SalesCustomer
from .performance_rules import FactKind
from .settings import Settings


def fact_row(
    kind: FactKind,
    subject_id: uuid.UUID,
    *,
    owner_id: uuid.UUID | None,
    channel_id: uuid.UUID | None,
    region_code: str | None,
    occurred_at: datetime,
    amount: int = 0,
) -> dict[str, Any]:
    """A fact as `record_facts` takes it: `kind` for `subject_id`."""
    return {
        "kind": kind,
        "subject_id": subject_id,
        "owner_id": owner_id,
        "channel_id": channel_id,
        "region_code": region_code,
        "occurred_at": occurred_at,
        "amount": amount,
    }


#: Each fact once, however often the events behind it repeat (built once: its rows vary).
_RECORD_FACTS = insert(PerformanceFact).on_conflict_do_nothing(constraint="uq_performance_facts_kind_subject")


async def record_facts(session: AsyncSession, facts: Sequence[dict[str, Any]]) -> None:
    """Count each of `facts` (`fact_row`) once, in one statement."""
    if facts:
        await session.execute(_RECORD_FACTS, list(facts))


async def quote_fact(
    session: AsyncSession, kind: FactKind, quote: Quote, customer: SalesCustomer | None, at: datetime
) -> None:
    """Count the quote for its owner, in its customer's channel and province as sales' record
    of the customer has them now."""
    await record_facts(
        session,
        [
            fact_row(
                kind,
                quote.id,
                owner_id=quote.owner_id,
                channel_id=customer.channel_id if customer else None,
                region_code=customer.region_code if customer else None,
                occurred_at=at,
                amount=quote.total,
            )
        ],
    )


async def quotes_expired(
    session: AsyncSession, expired: Sequence[tuple[uuid.UUID, date]], settings: Settings
) -> None:
    """Count quotes that expired (id, valid_until) as lost at the start of the day after their
    validity, in their customers' channels and provinces: one statement for them all."""
    if not expired:
        return
    lost_at = {
        quote_id: settings.start_of(valid_until + timedelta(days=1)) for quote_id, valid_until in expired
    }
    rows = await session.execute(
        select(Quote.id, Quote.owner_id, Quote.total, SalesCustomer.channel_id, SalesCustomer.region_code)
        .outerjoin(SalesCustomer, SalesCustomer.id == Quote.customer_id)
        .where(Quote.id.in_(list(lost_at)))
    )
    facts = [
        fact_row(
            FactKind.QUOTE_EXPIRED,
            row.id,
            owner_id=row.owner_id,
            channel_id=row.channel_id,
            region_code=row.region_code,
            occurred_at=lost_at[row.id],
            amount=row.total,
        )
        for row in rows
    ]
    await record_facts(session, facts)


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
    """A lead's outcome, counted for its owner in its channel and province at the time the event states."""
    await record_facts(
        session,
        [
            fact_row(
                kind,
                event.lead_id,
                owner_id=event.owner_id,
                channel_id=event.channel_id,
                region_code=event.region_code,
                occurred_at=occurred_at,
            )
        ],
    )
