"""The performance report's response models (`GET /api/performance`): one row per
salesperson, channel, province or combination, with what each figure counts."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from . import domain, performance_rules


def _about(text: str) -> Any:
    return Field(description=text)


class PerformanceRow(BaseModel):
    """One salesperson, channel, province or combination of them over the period. A key the
    report is not per (see `dimensions`) is null; so is one the facts had none of."""

    owner_id: uuid.UUID | None = _about("the salesperson (`by` with salesperson)")
    channel_id: uuid.UUID | None = _about("the channel (`by` with channel)")
    region_code: str | None = _about("the province (`by` with region)")
    leads_worked: int = _about("leads captured")
    converted: int = _about("leads converted (qualified)")
    disqualified: int = _about("leads disqualified")
    conversion_rate: float | None = _about("converted / (converted + disqualified)")
    prospects_gained: int
    quotes_sent: int
    quotes_accepted: int = _about("quotes won: accepted by the customer")
    quotes_declined: int = _about("declined by the customer")
    quotes_expired: int = _about("past their validity unanswered, on the day after it")
    quotes_rejected: int = _about("rejected by a manager (once per quote)")
    quotes_lost: int = _about("declined + expired + rejected")
    win_rate: float | None = _about("quotes_accepted / (quotes_accepted + quotes_lost)")
    orders: int
    revenue: int = _about("net (without VAT) of the orders placed")
    previous_revenue: int = _about("the same in the previous period")
    revenue_growth: float | None = _about("(revenue - previous_revenue) / previous_revenue; null without one")
    care_done: int = _about("care activities done in the period")
    care_overdue: int = _about("care activities overdue in the period (see care_due_before)")


class PerformanceReport(BaseModel):
    period: str = _about("2027, 2027-Q1, 2027-03, or from..to for a range of days")
    starts_on: date
    ends_before: date
    previous_period: str
    by: str = _about("the dimensions, as asked: salesperson, channel, salesperson_channel or a combination")
    dimensions: list[performance_rules.Dimension] = _about("what each row is per")
    care_due_before: date = _about(
        "care is overdue when due before this day: the day after the period, or today if earlier"
    )
    currency: str = domain.CURRENCY
    items: list[PerformanceRow]
    total: int
