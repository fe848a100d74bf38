"""The rules of performance without I/O: periods, rates, growth, a report's row."""

from __future__ import annotations

from datetime import date

import pytest

from sales import performance_rules as rules
from sales.performance_rules import FactKind

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "start", "end", "previous"),
    [
        ("2026", date(2026, 1, 1), date(2027, 1, 1), "2025"),
        ("2026-Q3", date(2026, 7, 1), date(2026, 10, 1), "2026-Q2"),
        ("2026-q1", date(2026, 1, 1), date(2026, 4, 1), "2025-Q4"),
        ("2026-09", date(2026, 9, 1), date(2026, 10, 1), "2026-08"),
        ("2026-01", date(2026, 1, 1), date(2026, 2, 1), "2025-12"),
        ("2026-12", date(2026, 12, 1), date(2027, 1, 1), "2026-11"),
    ],
)
def test_periods(text: str, start: date, end: date, previous: str) -> None:
    period = rules.parse_period(text)
    assert (period.start, period.end, period.previous().label) == (start, end, previous)
    assert period.previous().end == period.start


@pytest.mark.parametrize("text", ["26", "2026-Q5", "2026-13", "2026-9", "last year", ""])
def test_bad_periods(text: str) -> None:
    with pytest.raises(ValueError):
        rules.parse_period(text)


def test_conversion_rate_is_of_the_leads_decided() -> None:
    assert rules.conversion_rate(3, 1) == 0.75
    assert rules.conversion_rate(1, 2) == 0.3333
    assert rules.conversion_rate(0, 0) is None


def test_growth_against_the_previous_period() -> None:
    assert rules.growth(150, 100) == 0.5
    assert rules.growth(50, 100) == -0.5
    assert rules.growth(100, 0) is None
    assert rules.growth(0, 0) is None


def test_a_performance_row_from_counted_facts() -> None:
    row = rules.performance(
        {
            FactKind.LEAD_CAPTURED: (10, 0),
            FactKind.LEAD_QUALIFIED: (4, 0),
            FactKind.LEAD_DISQUALIFIED: (4, 0),
            FactKind.PROSPECT_GAINED: (4, 0),
            FactKind.QUOTE_SENT: (3, 900),
            FactKind.QUOTE_ACCEPTED: (2, 600),
            FactKind.ORDER_PLACED: (2, 550),
        },
        previous_revenue=440,
    )
    assert (row.leads_worked, row.converted, row.disqualified, row.prospects_gained) == (10, 4, 4, 4)
    assert (row.quotes_sent, row.quotes_accepted, row.orders, row.revenue) == (3, 2, 2, 550)
    assert row.conversion_rate == 0.5
    assert row.revenue_growth == 0.25


def test_an_empty_row() -> None:
    row = rules.performance({}, previous_revenue=0)
    assert (row.revenue, row.conversion_rate, row.revenue_growth) == (0, None, None)
