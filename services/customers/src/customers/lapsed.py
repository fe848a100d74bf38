"""Lapsed customers: traditional customers who have not ordered for a while, the longest
first, so a salesperson calls them before a competitor does.

How long "a while" is depends on the grade (an A customer ordering monthly is lapsed
sooner than a D customer ordering twice a year): `Settings.lapsed_days_by_grade`, else
`lapsed_after_days`; a caller may ask for one number for all. A customer promoted but
never ordering counts from its promotion.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_kit.auth import User
from crm_kit.http import PageParams
from crm_kit.queries import visible_to

from .domain import Stage
from .models import Customer


async def lapsed(
    session: AsyncSession,
    user: User,
    page: PageParams,
    *,
    now: datetime,
    default_days: int,
    days_by_grade: Mapping[str, int],
    grade: str | None = None,
) -> tuple[list[tuple[Customer, int, int]], int]:
    """(customer, days since its last order, its grade's limit), longest without first."""
    limit: Any = (
        case(
            *((Customer.grade == g, literal(d, Integer)) for g, d in sorted(days_by_grade.items())),
            else_=literal(default_days, Integer),
        )
        if days_by_grade
        else literal(default_days, Integer)
    )
    since = func.coalesce(Customer.last_purchase_at, Customer.promoted_at, Customer.created_at)
    stmt: Any = visible_to(select(Customer), Customer.owner_id, user).where(
        Customer.lifecycle_stage == Stage.TRADITIONAL,
        Customer.merged_into_id.is_(None),
        since < now - func.make_interval(0, 0, 0, limit),
        # The longest any grade waits: what the index on the last purchase can skip.
        since < now - timedelta(days=min([default_days, *days_by_grade.values()])),
    )
    if grade is not None:
        stmt = stmt.where(Customer.grade == grade)
    total = int(await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    days = func.date_part("day", now - since).label("days")
    rows = await session.execute(
        stmt.add_columns(days, limit.label("limit"))
        .order_by(since, Customer.id)
        .limit(page.limit)
        .offset(page.offset)
    )
    return [(customer, int(d), int(n)) for customer, d, n in rows.all()], total
