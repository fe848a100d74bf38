"""Performance per salesperson, channel, province, or any combination of them."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from crm_kit import errors
from crm_kit.auth import CurrentUser
from crm_kit.http import Paging
from crm_kit.runtime import DbDep

from .. import performance_report, performance_rules, quotes
from ..performance_report import Filters, Row
from ..performance_rules import Period
from ..performance_schemas import PerformanceReport, PerformanceRow
from .dependencies import SELLERS, SettingsDep

router = APIRouter(prefix="/api/performance", tags=["performance"], dependencies=[SELLERS])

PeriodQuery = Annotated[str | None, Query(max_length=10, description="2027, 2027-Q1 or 2027-03")]
FromQuery = Annotated[
    date | None, Query(alias="from", description="first day (with `to`, not with `period`)")
]
ToQuery = Annotated[date | None, Query(description="last day, included (with `from`)")]
ByQuery = Annotated[
    str,
    Query(
        max_length=40,
        description="salesperson, channel, region, or a comma-separated combination "
        "(salesperson,channel,region); salesperson_channel is salesperson,channel",
    ),
]
RegionQuery = Annotated[str | None, Query(pattern=r"^[0-9A-Z]{1,10}$", description="province code")]


def _period(period: str | None, first: date | None, last: date | None) -> Period:
    """`period`, or the days `from` through `to`: one or the other, else 422 naming the field."""
    if period is not None:
        if first is not None or last is not None:
            field = "from" if first is not None else "to"
            raise errors.Invalid.at(
                ("query", field), "give period, or from and to, not both", code="period.period_or_dates"
            )
        try:
            return performance_rules.parse_period(period)
        except ValueError as exc:
            raise errors.Invalid.of_rule(("query", "period"), exc, default_code="period.invalid") from exc
    if first is None and last is None:
        raise errors.Invalid.at(
            ("query", "period"), "period is required (or from and to)", code="period.required"
        )
    if first is None or last is None:
        missing = "from" if first is None else "to"
        raise errors.Invalid.at(
            ("query", missing),
            f"{missing} is required with {'to' if first is None else 'from'}",
            code="period.both_dates_needed",
            params={"missing": missing, "given": "to" if first is None else "from"},
        )
    try:
        return performance_rules.day_range(first, last)
    except ValueError as exc:
        raise errors.Invalid.of_rule(("query", "from"), exc, default_code="period.invalid") from exc


def _salesperson(salesperson_id: uuid.UUID | None, owner_id: uuid.UUID | None) -> uuid.UUID | None:
    if salesperson_id is not None and owner_id is not None and salesperson_id != owner_id:
        raise errors.Invalid.at(
            ("query", "owner_id"),
            "owner_id is salesperson_id's older name: give one",
            code="performance.owner_and_salesperson",
        )
    return salesperson_id or owner_id


@router.get("")
async def get_performance(
    user: CurrentUser,
    db: DbDep,
    settings: SettingsDep,
    paging: Paging,
    period: PeriodQuery = None,
    from_: FromQuery = None,
    to: ToQuery = None,
    by: ByQuery = "salesperson",
    salesperson_id: Annotated[uuid.UUID | None, Query(description="only this salesperson's facts")] = None,
    channel_id: Annotated[uuid.UUID | None, Query(description="only this channel's facts")] = None,
    region_code: RegionQuery = None,
    owner_id: Annotated[uuid.UUID | None, Query(description="the same as salesperson_id")] = None,
) -> PerformanceReport:
    """Performance per salesperson, channel, province or any combination of them, over a
    period: `period` (2027, 2027-Q1 or 2027-03) or the days `from` through `to` (both included).

    `by`: `salesperson` (the default), `channel`, `region`, or a comma-separated combination
    such as `salesperson,channel,region`; `salesperson_channel` is `salesperson,channel`.
    Filters: `salesperson_id`, `channel_id`, `region_code`. Rows, most revenue first: leads
    worked (captured), converted and disqualified, the conversion rate, prospects gained,
    quotes sent, won (`quotes_accepted`) and lost (`quotes_declined`, `quotes_expired` on
    the day after their validity, `quotes_rejected` by a manager) with the win rate, orders,
    revenue (net of VAT) and its growth over the previous period of the same length; each
    fact counts in the channel and province it happened in. `care_done`: the customers'
    care activities done on a day of the period; `care_overdue`: those due before
    `care_due_before` (the day after the period, or today if that is earlier) and not done
    by their due day, that are due in the period or, due before it, still open on its
    first day.

    Attainment against targets is not here: it is marketing's
    `GET /api/targets/attainment?period=&salesperson_id=&channel_id=&region_code=`, where
    the targets live; a client joins its rows to these on salesperson (`owner_id` here),
    channel and province. A salesperson gets their own rows only, whatever `salesperson_id`
    says. A period that is not one, `from` after `to`, or an unknown `by` is a 422 naming
    the field."""
    wanted = _period(period, from_, to)
    try:
        grouping = performance_rules.parse_grouping(by)
    except ValueError as exc:
        raise errors.Invalid.at(
            ("query", "by"),
            str(exc),
            code=getattr(exc, "type", "performance.by_invalid"),
            params=getattr(exc, "context", None),
        ) from exc
    filters = Filters(_salesperson(salesperson_id, owner_id), channel_id, region_code)
    async with db.transaction() as session:
        # Quotes past their validity are lost from the day after it: count them before reading.
        await quotes.expire_due(session, settings)
        found = await performance_report.report(session, user, wanted, grouping, settings, filters, paging)
    return PerformanceReport(
        period=wanted.label,
        starts_on=wanted.start,
        ends_before=wanted.end,
        previous_period=wanted.previous().label,
        by=grouping.label,
        dimensions=list(grouping.dimensions),
        care_due_before=found.care_cutoff,
        items=[_row(row) for row in found.rows],
        total=found.total,
    )


def _row(row: Row) -> PerformanceRow:
    p = row.performance
    return PerformanceRow(
        owner_id=row.owner_id,
        channel_id=row.channel_id,
        region_code=row.region_code,
        **asdict(p),
        conversion_rate=p.conversion_rate,
        quotes_lost=p.quotes_lost,
        win_rate=p.win_rate,
        revenue_growth=p.revenue_growth,
    )
