"""The rules of salesperson performance, without I/O: the periods a report covers, what
counts as a fact, and the arithmetic of a report's row."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Literal

_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class Period:
    """A calendar year, quarter or month: `start` inclusive, `end` exclusive."""

    label: str
    start: date
    end: date
    months: int

    def previous(self) -> Period:
        """The period of the same length just before this one (2026-Q1 -> 2025-Q4)."""
        start = _add_months(self.start, -self.months)
        return _period_at(start, self.months)


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


def parse_period(text: str) -> Period:
    """`2026`, `2026-Q3` or `2026-09`; ValueError otherwise."""
    raw = text.strip().upper()
    if match := _YEAR.match(raw):
        return _period_at(date(int(match[1]), 1, 1), 12)
    if match := _QUARTER.match(raw):
        return _period_at(date(int(match[1]), (int(match[2]) - 1) * 3 + 1, 1), 3)
    if match := _MONTH.match(raw):
        return _period_at(date(int(match[1]), int(match[2]), 1), 1)
    raise ValueError(f"period must look like 2026, 2026-Q3 or 2026-09, not {text!r}")


#: How a performance report groups its rows.
Grouping = Literal["salesperson", "channel", "salesperson_channel"]


class FactKind(StrEnum):
    """What performance counts; one fact per (kind, subject)."""

    LEAD_CAPTURED = "lead_captured"
    LEAD_QUALIFIED = "lead_qualified"
    LEAD_DISQUALIFIED = "lead_disqualified"
    PROSPECT_GAINED = "prospect_gained"
    QUOTE_SENT = "quote_sent"
    QUOTE_ACCEPTED = "quote_accepted"
    ORDER_PLACED = "order_placed"


@dataclass(frozen=True)
class Performance:
    leads_worked: int = 0
    converted: int = 0
    disqualified: int = 0
    prospects_gained: int = 0
    quotes_sent: int = 0
    quotes_accepted: int = 0
    orders: int = 0
    #: Net (before VAT) totals of the orders placed in the period.
    revenue: int = 0
    previous_revenue: int = 0

    @property
    def conversion_rate(self) -> float | None:
        return conversion_rate(self.converted, self.disqualified)

    @property
    def revenue_growth(self) -> float | None:
        return growth(self.revenue, self.previous_revenue)


def conversion_rate(converted: int, disqualified: int) -> float | None:
    """Converted / (converted + disqualified): of the leads decided, the share that converted."""
    decided = converted + disqualified
    return None if decided == 0 else round(converted / decided, 4)


def growth(current: int, previous: int) -> float | None:
    """(current - previous) / previous, e.g. 0.25 for +25%; None when there is nothing to compare."""
    return None if previous == 0 else round((current - previous) / previous, 4)


def performance(counts: Mapping[FactKind, tuple[int, int]], previous_revenue: int) -> Performance:
    """One row from (count, amount) per fact kind in the period."""

    def count(kind: FactKind) -> int:
        return counts.get(kind, (0, 0))[0]

    return Performance(
        leads_worked=count(FactKind.LEAD_CAPTURED),
        converted=count(FactKind.LEAD_QUALIFIED),
        disqualified=count(FactKind.LEAD_DISQUALIFIED),
        prospects_gained=count(FactKind.PROSPECT_GAINED),
        quotes_sent=count(FactKind.QUOTE_SENT),
        quotes_accepted=count(FactKind.QUOTE_ACCEPTED),
        orders=count(FactKind.ORDER_PLACED),
        revenue=counts.get(FactKind.ORDER_PLACED, (0, 0))[1],
        previous_revenue=previous_revenue,
    )
