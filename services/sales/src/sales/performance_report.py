"""Salesperson performance over a period, per salesperson, channel, province or any
combination of them, filtered to one of each: one grouped statement over the facts' days
(`performance_days`, kept from `performance_facts` by triggers) and the care activities
(`care_activities`), paged in the database, whatever the number of rows. Attainment
against targets is marketing's (`GET /api/targets/attainment`), not copied here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from crm_kit.auth import Role, User
from crm_kit.http import PageParams

from .models import CareActivity, PerformanceDay
from .performance_rules import (
    REVENUE,
    CareStatus,
    Dimension,
    FactKind,
    Grouping,
    Performance,
    Period,
    care_cutoff,
    performance,
)
from .settings import Settings

#: Roles that see everyone's performance; a salesperson sees their own.
SEES_EVERYONE = frozenset({Role.ADMIN, Role.SALES_MANAGER})

#: The column each dimension groups by, in the facts and the care activities alike.
COLUMNS = {
    Dimension.SALESPERSON: "owner_id",
    Dimension.CHANNEL: "channel_id",
    Dimension.REGION: "region_code",
}
_CARE = ("care_done", "care_overdue")
_MEASURES = (*(kind.value for kind in FactKind), "revenue", "previous_revenue", *_CARE)


@dataclass(frozen=True)
class Filters:
    salesperson_id: uuid.UUID | None = None
    channel_id: uuid.UUID | None = None
    region_code: str | None = None


@dataclass(frozen=True)
class Row:
    """One row; a key is None where the report is not per that dimension, or where the facts
    had none (no channel, no province)."""

    owner_id: uuid.UUID | None
    channel_id: uuid.UUID | None
    region_code: str | None
    performance: Performance


@dataclass(frozen=True)
class Report:
    rows: list[Row]
    total: int
    #: Care is overdue when due before this day (`performance_rules.care_cutoff`).
    care_cutoff: date


async def report(
    session: AsyncSession,
    user: User,
    period: Period,
    grouping: Grouping,
    settings: Settings,
    filters: Filters,
    page: PageParams,
) -> Report:
    """The rows of `page`, most revenue first; revenue growth compares with the period of the
    same length before. A salesperson only ever gets their own rows; per salesperson alone,
    a salesperson asked for (or the caller) gets a row even when it is all zeros."""
    if user.role not in SEES_EVERYONE:
        filters = replace(filters, salesperson_id=user.id)
    today = settings.today()
    grouped = statement(period, grouping, filters, today=today)
    found = (await session.execute(grouped.limit(page.limit).offset(page.offset))).all()
    rows = [_row(found_row._mapping) for found_row in found]
    total = int(found[0].total) if found else await _count(session, grouped, page)
    own = filters.salesperson_id
    if total == 0 and grouping.dimensions == (Dimension.SALESPERSON,) and own is not None:
        rows, total = ([Row(own, None, None, Performance())] if page.offset == 0 else []), 1
    return Report(rows, total, care_cutoff(period, today))


def statement(period: Period, grouping: Grouping, filters: Filters, *, today: date) -> Any:
    """The report's one statement, sorted, before its page is cut: per group, every measure
    and the number of groups (`total`)."""
    keys = [COLUMNS[d] for d in grouping.dimensions]
    care = _care(keys, period, care_cutoff(period, today), filters)
    both = union_all(_facts(keys, period, filters), care).subquery()
    return (
        select(
            *(both.c[key] for key in keys),
            *(func.sum(both.c[measure]).label(measure) for measure in _MEASURES),
            func.count().over().label("total"),
        )
        .group_by(*(both.c[key] for key in keys))
        .order_by(func.sum(both.c.revenue).desc(), *(both.c[key].asc().nulls_last() for key in keys))
    )


async def _count(session: AsyncSession, grouped: Any, page: PageParams) -> int:
    """How many rows there are when the page asked for holds none (past the end, or none at all)."""
    if page.offset == 0:
        return 0
    return int(await session.scalar(select(func.count()).select_from(grouped.order_by(None).subquery())) or 0)


def _where(model: type[PerformanceDay] | type[CareActivity], filters: Filters) -> list[ColumnElement[bool]]:
    given = (
        (model.owner_id, filters.salesperson_id),
        (model.channel_id, filters.channel_id),
        (model.region_code, filters.region_code),
    )
    return [column == value for column, value in given if value is not None]


def _facts(keys: Sequence[str], period: Period, filters: Filters) -> Any:
    """Per group: the facts of each kind in the period, the revenue in it and in the one
    before, from the facts' days (`PerformanceDay`): a period is whole days of the business's
    calendar, so its days hold exactly its facts."""
    day = PerformanceDay
    now, order = day.day >= period.start, day.kind.in_(REVENUE)
    return (
        select(
            *(getattr(day, key) for key in keys),
            *(
                func.coalesce(func.sum(day.facts).filter(day.kind == kind, now), 0).label(kind.value)
                for kind in FactKind
            ),
            func.coalesce(func.sum(day.amount).filter(order, now), 0).label("revenue"),
            func.coalesce(func.sum(day.amount).filter(order, ~now), 0).label("previous_revenue"),
            *(literal(0).label(measure) for measure in _CARE),
        )
        .where(
            day.day >= period.previous().start,
            day.day < period.end,
            or_(now, order),
            *_where(day, filters),
        )
        .group_by(*(getattr(day, key) for key in keys))
    )


def _care(keys: Sequence[str], period: Period, cutoff: date, filters: Filters) -> Any:
    """Per group: the care done in the period and the care overdue in it, by the rules of
    `performance_rules.care_done` and `care_overdue` (overdue split into the cases an index
    can find: due in the period; due before it and still open, or closed since it began)."""
    care = CareActivity
    done = and_(care.status == CareStatus.DONE, care.ended_on >= period.start, care.ended_on < period.end)
    overdue = and_(
        care.due_on < cutoff,
        or_(
            and_(care.due_on >= period.start, or_(care.ended_on.is_(None), care.ended_on > care.due_on)),
            and_(care.due_on < period.start, care.ended_on.is_(None)),
            and_(care.due_on < period.start, care.ended_on >= period.start),
        ),
    )
    return (
        select(
            *(getattr(care, key) for key in keys),
            *(literal(0).label(kind.value) for kind in FactKind),
            literal(0).label("revenue"),
            literal(0).label("previous_revenue"),
            func.count().filter(done).label("care_done"),
            func.count().filter(overdue).label("care_overdue"),
        )
        .where(or_(done, overdue), *_where(care, filters))
        .group_by(*(getattr(care, key) for key in keys))
    )


def _row(values: Any) -> Row:
    counts = {kind: (int(values[kind.value]), 0) for kind in FactKind}
    counts[FactKind.ORDER_PLACED] = (int(values[FactKind.ORDER_PLACED.value]), int(values["revenue"]))
    return Row(
        owner_id=values.get("owner_id"),
        channel_id=values.get("channel_id"),
        region_code=values.get("region_code"),
        performance=performance(
            counts,
            int(values["previous_revenue"]),
            care_done=int(values["care_done"]),
            care_overdue=int(values["care_overdue"]),
        ),
    )
