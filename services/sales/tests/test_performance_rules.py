"""The rules of performance without I/O: periods and ranges of days, groupings, care done and
overdue, rates, growth, a report's row."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from sales import performance_rules as rules
from sales.performance_rules import CareStatus, Dimension, FactKind

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


@pytest.mark.parametrize(
    "text", ["26", "2026-Q5", "2026-13", "2026-9", "last year", "", "1999", "2101-Q1", "0001", "9999-12"]
)
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


def test_the_years_a_period_may_cover() -> None:
    assert rules.parse_period("2000").previous().label == "1999"  # the year before is compared with
    assert rules.parse_period("2100-12").end == date(2101, 1, 1)
    with pytest.raises(ValueError, match="between 2000 and 2100"):
        rules.parse_period("1999-Q4")


def test_a_range_of_days_includes_both_ends_and_compares_with_as_many_days_before() -> None:
    days = rules.day_range(date(2027, 1, 15), date(2027, 2, 10))
    assert (days.label, days.start, days.end, days.last_day) == (
        "2027-01-15..2027-02-10",
        date(2027, 1, 15),
        date(2027, 2, 11),
        date(2027, 2, 10),
    )
    before = days.previous()
    assert (before.label, before.end - before.start) == ("2026-12-19..2027-01-14", days.end - days.start)
    assert before.end == days.start
    one = rules.day_range(date(2027, 3, 1), date(2027, 3, 1))
    assert (one.end, one.previous().label) == (date(2027, 3, 2), "2027-02-28..2027-02-28")


def test_the_longest_range_still_has_days_before_it() -> None:
    longest = rules.day_range(date(2000, 1, 1), date(2100, 12, 31))
    assert longest.previous().end == date(2000, 1, 1)
    assert longest.previous().end - longest.previous().start == longest.end - longest.start


def test_a_range_backwards_or_outside_the_years_is_refused() -> None:
    with pytest.raises(ValueError, match=r"from \(2027-02-10\) is after to \(2027-02-09\)"):
        rules.day_range(date(2027, 2, 10), date(2027, 2, 9))
    with pytest.raises(ValueError, match="between 2000 and 2100"):
        rules.day_range(date(1999, 12, 31), date(2000, 1, 5))


# -- groupings -------------------------------------------------------------------------------------

S, C, R = Dimension.SALESPERSON, Dimension.CHANNEL, Dimension.REGION


@pytest.mark.parametrize(
    ("text", "dimensions", "label"),
    [
        ("salesperson", (S,), "salesperson"),
        ("channel", (C,), "channel"),
        ("region", (R,), "region"),
        ("salesperson_channel", (S, C), "salesperson_channel"),
        ("salesperson,channel", (S, C), "salesperson,channel"),
        ("region, Salesperson", (S, R), "salesperson,region"),
        ("salesperson,channel,region", (S, C, R), "salesperson,channel,region"),
        ("region,channel,salesperson", (S, C, R), "salesperson,channel,region"),
        ("channel,region", (C, R), "channel,region"),
    ],
)
def test_a_report_is_per_any_combination_of_salesperson_channel_and_region(
    text: str, dimensions: tuple[Dimension, ...], label: str
) -> None:
    assert rules.parse_grouping(text) == rules.Grouping(dimensions, label)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("province", "'province' is not one of salesperson, channel, region"),
        ("salesperson,,channel", "'' is not one of"),
        ("", "'' is not one of"),
        ("salesperson,salesperson", "names a dimension twice"),
        ("salesperson_channel,region", "'salesperson_channel' is not one of"),
    ],
)
def test_an_unknown_or_repeated_dimension_is_named(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rules.parse_grouping(text)


# -- care ----------------------------------------------------------------------------------------

MARCH = rules.parse_period("2027-03")


def day(n: int) -> date:
    """The n-th of March 2027 (0 is the last of February, 32 the first of April)."""
    return date(2027, 3, 1) + timedelta(days=n - 1)


def test_an_activity_ends_on_the_day_it_was_done_or_cancelled() -> None:
    assert rules.care_ended_on(CareStatus.PLANNED, None, day(9)) is None
    assert rules.care_ended_on(CareStatus.DONE, day(3), day(9)) == day(3)  # reported late
    assert rules.care_ended_on(CareStatus.DONE, None, day(9)) == day(9)
    assert rules.care_ended_on(CareStatus.CANCELLED, None, day(9)) == day(9)


def test_overdue_is_judged_at_the_end_of_the_period_or_today_whichever_is_earlier() -> None:
    assert rules.care_cutoff(MARCH, today=day(40)) == day(32)
    assert rules.care_cutoff(MARCH, today=day(10)) == day(10)
    assert rules.care_cutoff(MARCH, today=day(-5)) == day(-5)


def test_care_done_in_the_period_counts_by_the_day_it_was_done() -> None:
    assert rules.care_done(CareStatus.DONE, day(1), MARCH)
    assert rules.care_done(CareStatus.DONE, day(31), MARCH)
    assert not rules.care_done(CareStatus.DONE, day(0), MARCH)
    assert not rules.care_done(CareStatus.DONE, day(32), MARCH)
    assert not rules.care_done(CareStatus.CANCELLED, day(5), MARCH)
    assert not rules.care_done(CareStatus.PLANNED, None, MARCH)


#: (due, ended, cutoff, overdue in March, why); ended None: still open.
OVERDUE_CASES = [
    (day(10), None, day(32), True, "due in March, never done"),
    (day(10), day(10), day(32), False, "done on its due day"),
    (day(10), day(8), day(32), False, "done before its due day"),
    (day(10), day(11), day(32), True, "done a day late"),
    (day(10), day(40), day(32), True, "done after March: not done by its due date either"),
    (day(31), None, day(32), True, "due on March's last day and not done by its end"),
    (day(31), None, day(15), False, "due after today (the 15th)"),
    (day(15), None, day(15), False, "due today: not overdue until the day is over"),
    (day(14), None, day(15), True, "due yesterday, still open"),
    (day(-20), None, day(32), True, "due in February, still open in March"),
    (day(-20), day(1), day(32), True, "due in February, done on March's first day"),
    (day(-20), day(0), day(32), False, "due in February, done (late) before March"),
    (day(-20), day(-25), day(32), False, "due in February, done on time"),
    (day(32), None, day(32), False, "due in April"),
    (None, None, day(32), False, "its plan has not arrived: no due date"),
    (day(10), day(12), day(32), True, "cancelled after its due day without being done"),
    (day(10), day(9), day(32), False, "cancelled before its due day"),
]


@pytest.mark.parametrize(("due", "ended", "cutoff", "overdue", "why"), OVERDUE_CASES)
def test_care_overdue_in_the_period(
    due: date | None, ended: date | None, cutoff: date, overdue: bool, why: str
) -> None:
    assert rules.care_overdue(due, ended, MARCH, cutoff) is overdue, why


# -- a row ---------------------------------------------------------------------------------------


def test_quotes_lost_are_declined_expired_and_rejected_and_the_win_rate_is_of_those_decided() -> None:
    row = rules.performance(
        {
            FactKind.QUOTE_SENT: (9, 0),
            FactKind.QUOTE_ACCEPTED: (3, 0),
            FactKind.QUOTE_DECLINED: (2, 0),
            FactKind.QUOTE_EXPIRED: (1, 0),
            FactKind.QUOTE_REJECTED: (3, 0),
        },
        previous_revenue=0,
        care_done=4,
        care_overdue=2,
    )
    assert (row.quotes_accepted, row.quotes_lost, row.win_rate) == (3, 6, 0.3333)
    assert (row.quotes_declined, row.quotes_expired, row.quotes_rejected) == (2, 1, 3)
    assert (row.care_done, row.care_overdue) == (4, 2)
    assert rules.performance({}, previous_revenue=0).win_rate is None
