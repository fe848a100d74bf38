"""The rules of salesperson performance, without I/O: the periods a report covers, how it
groups its rows, what counts as a fact, when care is done or overdue, and the arithmetic
of a report's row. `performance.py` records the facts and runs the report in SQL that
follows these rules (its tests hold the two to each other)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from pydantic_core import PydanticCustomError

# -- periods ---------------------------------------------------------------------------

_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
#: The years a report may cover (marketing's targets take the same).
MIN_YEAR, MAX_YEAR = 2000, 2100


@dataclass(frozen=True)
class Period:
    """A calendar year, quarter or month, or a range of days: `start` inclusive, `end`
    exclusive. `months` is 12, 3 or 1 for a calendar period, 0 for a range of days."""

    label: str
    start: date
    end: date
    months: int

    def previous(self) -> Period:
        """The period of the same length just before this one: 2026-Q1 -> 2025-Q4, and a
        range of N days -> the N days before it."""
        if self.months == 0:
            return _days(self.start - (self.end - self.start), self.start - timedelta(days=1))
        return _period_at(_add_months(self.start, -self.months), self.months)

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def _period_at(start: date, months: int) -> Period:
    if months == 12:
        label = f"{start.year}"
    elif months == 3:
        label = f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    else:
        label = f"{start.year}-{start.month:02d}"
    return Period(label, start, _add_months(start, months), months)


def _check_year(year: int, what: str) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise PydanticCustomError(
            "period.year_out_of_range",
            f"{what}: the year must be between {MIN_YEAR} and {MAX_YEAR}",
            {"year": year, "min_year": MIN_YEAR, "max_year": MAX_YEAR},
        )


def parse_period(text: str) -> Period:
    """`2026`, `2026-Q3` or `2026-09` (years 2000-2100); ValueError otherwise."""
    raw = text.strip().upper()
    match = _YEAR.match(raw) or _QUARTER.match(raw) or _MONTH.match(raw)
    if match is None:
        raise PydanticCustomError(
            "period.invalid",
            f"period must look like 2026, 2026-Q3 or 2026-09, not {text!r}",
            {"period": text},
        )
    _check_year(int(match[1]), f"period {text!r}")
    if match.re is _YEAR:
        return _period_at(date(int(match[1]), 1, 1), 12)
    if match.re is _QUARTER:
        return _period_at(date(int(match[1]), (int(match[2]) - 1) * 3 + 1, 1), 3)
    return _period_at(date(int(match[1]), int(match[2]), 1), 1)


def day_range(first: date, last: date) -> Period:
    """The days from `first` through `last`, both included, labelled `2027-01-15..2027-02-10`;
    ValueError when `first` is after `last` or a year is out of range."""
    if first > last:
        raise PydanticCustomError(
            "dates.from_after_to",
            f"from ({first}) is after to ({last})",
            {"from_date": str(first), "to_date": str(last)},
        )
    _check_year(first.year, f"from {first}")
    _check_year(last.year, f"to {last}")
    return _days(first, last)


def _days(first: date, last: date) -> Period:
    return Period(f"{first.isoformat()}..{last.isoformat()}", first, last + timedelta(days=1), 0)


# -- grouping --------------------------------------------------------------------------


class Dimension(StrEnum):
    """What a report's rows may be per; a row carries `owner_id`, `channel_id`, `region_code`."""

    SALESPERSON = "salesperson"
    CHANNEL = "channel"
    REGION = "region"


@dataclass(frozen=True)
class Grouping:
    """The dimensions a report's rows are per, in the order `Dimension` lists them, and the
    `by` the report answers with (the one asked for, in that order)."""

    dimensions: tuple[Dimension, ...]
    label: str


#: The name `by` had for salesperson x channel before any combination could be asked for.
_SALESPERSON_CHANNEL = "salesperson_channel"


def parse_grouping(text: str) -> Grouping:
    """`salesperson`, `channel`, `region` or a comma-separated combination of them
    (`salesperson,channel,region`, in any order), or `salesperson_channel`; ValueError naming
    what is wrong otherwise."""
    if text.strip() == _SALESPERSON_CHANNEL:
        return Grouping((Dimension.SALESPERSON, Dimension.CHANNEL), _SALESPERSON_CHANNEL)
    names = [name.strip().lower() for name in text.split(",")]
    known = ", ".join(d.value for d in Dimension)
    if unknown := [name for name in names if name not in set(Dimension)]:
        raise PydanticCustomError(
            "performance.by_unknown",
            f"by: {', '.join(map(repr, unknown))} is not one of {known} (comma-separated)",
            {"unknown": unknown, "known": [d.value for d in Dimension]},
        )
    if len(set(names)) != len(names):
        raise PydanticCustomError(
            "performance.by_repeated", f"by names a dimension twice: {text!r}", {"by": text}
        )
    dimensions = tuple(d for d in Dimension if d.value in names)
    return Grouping(dimensions, ",".join(dimensions))


# -- facts -----------------------------------------------------------------------------


class FactKind(StrEnum):
    """What performance counts; one fact per (kind, subject)."""

    LEAD_CAPTURED = "lead_captured"
    LEAD_QUALIFIED = "lead_qualified"
    LEAD_DISQUALIFIED = "lead_disqualified"
    PROSPECT_GAINED = "prospect_gained"
    QUOTE_SENT = "quote_sent"
    QUOTE_ACCEPTED = "quote_accepted"
    #: The customer declined a sent quote.
    QUOTE_DECLINED = "quote_declined"
    #: A sent quote passed its validity unanswered (counted on the day after `valid_until`).
    QUOTE_EXPIRED = "quote_expired"
    #: A manager rejected the quote (its first rejection, if it is revised and rejected again).
    QUOTE_REJECTED = "quote_rejected"
    ORDER_PLACED = "order_placed"
    #: A credit note against an order's invoice: its net part (negative) off the revenue.
    CREDIT_NOTE = "credit_note"


#: The facts whose amounts are revenue: orders placed, less credit notes.
REVENUE = (FactKind.ORDER_PLACED, FactKind.CREDIT_NOTE)

#: The ways a quote is lost.
LOST_QUOTES = (FactKind.QUOTE_DECLINED, FactKind.QUOTE_EXPIRED, FactKind.QUOTE_REJECTED)


# -- care ------------------------------------------------------------------------------


class CareStatus(StrEnum):
    """Where a care activity stands, as the customers service last said."""

    PLANNED = "planned"
    DONE = "done"
    CANCELLED = "cancelled"


def care_ended_on(status: CareStatus, done_on: date | None, closed_on: date) -> date | None:
    """The day an activity stopped being open: the day it was done (which may be before its
    close was reported, `closed_on`), or the day it was cancelled; None while planned."""
    if status == CareStatus.PLANNED:
        return None
    if status == CareStatus.DONE and done_on is not None:
        return done_on
    return closed_on


def care_cutoff(period: Period, today: date) -> date:
    """Overdue is judged at the start of this day: the day after the period, or today if earlier."""
    return min(period.end, today)


def care_done(status: CareStatus, ended_on: date | None, period: Period) -> bool:
    """Done in the period: done on one of its days (`care_ended_on`: its `done_on`, or the day
    its close was sent when that gives none)."""
    return status == CareStatus.DONE and ended_on is not None and period.start <= ended_on < period.end


def care_overdue(due_on: date | None, ended_on: date | None, period: Period, cutoff: date) -> bool:
    """Overdue in the period: due before the cutoff (`care_cutoff`), not done (nor cancelled)
    by its due date, and due in the period or, if due before it, still open on its first day.
    An activity whose plan has not arrived (no due date yet) is never overdue."""
    if due_on is None or due_on >= cutoff:
        return False
    if ended_on is not None and ended_on <= due_on:
        return False
    return due_on >= period.start or ended_on is None or ended_on >= period.start


# -- a row -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Performance:
    leads_worked: int = 0
    converted: int = 0
    disqualified: int = 0
    prospects_gained: int = 0
    quotes_sent: int = 0
    quotes_accepted: int = 0
    quotes_declined: int = 0
    quotes_expired: int = 0
    quotes_rejected: int = 0
    orders: int = 0
    #: Net (before VAT) totals of the orders placed in the period.
    revenue: int = 0
    previous_revenue: int = 0
    care_done: int = 0
    care_overdue: int = 0

    @property
    def conversion_rate(self) -> float | None:
        return conversion_rate(self.converted, self.disqualified)

    @property
    def revenue_growth(self) -> float | None:
        return growth(self.revenue, self.previous_revenue)

    @property
    def quotes_lost(self) -> int:
        return self.quotes_declined + self.quotes_expired + self.quotes_rejected

    @property
    def win_rate(self) -> float | None:
        """Of the quotes decided in the period (accepted or lost), the share accepted."""
        return conversion_rate(self.quotes_accepted, self.quotes_lost)


def conversion_rate(converted: int, disqualified: int) -> float | None:
    """Converted / (converted + disqualified): of the leads decided, the share that converted."""
    decided = converted + disqualified
    return None if decided == 0 else round(converted / decided, 4)


def growth(current: int, previous: int) -> float | None:
    """(current - previous) / previous, e.g. 0.25 for +25%; None when there is nothing to compare."""
    return None if previous == 0 else round((current - previous) / previous, 4)


def performance(
    counts: Mapping[FactKind, tuple[int, int]],
    previous_revenue: int,
    *,
    care_done: int = 0,
    care_overdue: int = 0,
) -> Performance:
    """One row from (count, amount) per fact kind in the period, and the care counted in it."""

    def count(kind: FactKind) -> int:
        return counts.get(kind, (0, 0))[0]

    return Performance(
        leads_worked=count(FactKind.LEAD_CAPTURED),
        converted=count(FactKind.LEAD_QUALIFIED),
        disqualified=count(FactKind.LEAD_DISQUALIFIED),
        prospects_gained=count(FactKind.PROSPECT_GAINED),
        quotes_sent=count(FactKind.QUOTE_SENT),
        quotes_accepted=count(FactKind.QUOTE_ACCEPTED),
        quotes_declined=count(FactKind.QUOTE_DECLINED),
        quotes_expired=count(FactKind.QUOTE_EXPIRED),
        quotes_rejected=count(FactKind.QUOTE_REJECTED),
        orders=count(FactKind.ORDER_PLACED),
        revenue=counts.get(FactKind.ORDER_PLACED, (0, 0))[1],
        previous_revenue=previous_revenue,
        care_done=care_done,
        care_overdue=care_overdue,
    )
