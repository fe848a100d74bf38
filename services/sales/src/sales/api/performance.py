"""Performance per salesperson, channel, or both."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query

from crm_kit import errors
from crm_kit.auth import CurrentUser
from crm_kit.http import Paging
from crm_kit.runtime import DbDep

from .. import performance, performance_rules
from ..performance_rules import Grouping
from ..schemas import PerformanceReport, PerformanceRow
from .dependencies import SELLERS, SettingsDep

router = APIRouter(prefix="/api/performance", tags=["performance"], dependencies=[SELLERS])


@router.get("")
async def get_performance(
    user: CurrentUser,
    db: DbDep,
    settings: SettingsDep,
    paging: Paging,
    period: Annotated[str, Query(max_length=10, description="2026, 2026-Q3 or 2026-09")],
    by: Grouping = "salesperson",
    owner_id: uuid.UUID | None = None,
) -> PerformanceReport:
    """Per salesperson (or channel, or both): leads worked, converted and disqualified,
    conversion rate, prospects gained, quotes sent and accepted, orders, revenue (net) and
    its growth over the previous period of the same length. A salesperson sees their own."""
    try:
        wanted = performance_rules.parse_period(period)
    except ValueError as exc:
        raise errors.Invalid(str(exc)) from exc
    async with db.transaction() as session:
        rows = await performance.report(session, user, wanted, by, settings, owner_id=owner_id)
    items = [
        PerformanceRow(
            owner_id=owner if by != "channel" else None,
            channel_id=channel,
            **asdict(p),
            conversion_rate=p.conversion_rate,
            revenue_growth=p.revenue_growth,
        )
        for (owner, channel), p in rows
    ]
    return PerformanceReport(
        period=wanted.label,
        starts_on=wanted.start,
        ends_before=wanted.end,
        previous_period=wanted.previous().label,
        by=by,
        items=items[paging.offset : paging.offset + paging.limit],
        total=len(items),
    )
