"""Grading arithmetic, thresholds and the care rule (domain.py): no I/O."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from customers.domain import (
    Criterion,
    GradeBand,
    InvalidAnswers,
    NumericRange,
    Option,
    assess,
    canonical_grade,
    care_due_on,
    care_overdue,
    grade_for,
    next_review_on,
    points_for,
    round_score,
    threshold_problem,
)

pytestmark = pytest.mark.unit

ABCD = [
    GradeBand("A", 80, 90, 7),
    GradeBand("B", 60, 120, 14),
    GradeBand("C", 40, 180, 30),
    GradeBand("D", 0, 365, 60),
]
VIP = [
    GradeBand("VIP", 85, 60, 7),
    GradeBand("Tier I", 70, 90, 14),
    GradeBand("Tier II", 50, 180, 30),
    GradeBand("Tier III", 0, 365, 90),
]
#: One criterion whose points are the answer itself (0-100), to hit exact scores.
EXACT = [Criterion("score", 1, range=NumericRange(0, 100))]


@pytest.mark.parametrize(
    ("score", "grade"),
    [(100, "A"), (80, "A"), (79.99, "B"), (60, "B"), (59.99, "C"), (40, "C"), (39.99, "D"), (0, "D")],
)
def test_abcd_grades_at_and_around_each_threshold(score: float, grade: str) -> None:
    assert grade_for(ABCD, score).name == grade
    assert assess(EXACT, ABCD, {"score": score}).grade.name == grade


@pytest.mark.parametrize(
    ("score", "grade"),
    [
        (85, "VIP"),
        (84.99, "Tier I"),
        (70, "Tier I"),
        (69.99, "Tier II"),
        (50, "Tier II"),
        (49.99, "Tier III"),
    ],
)
def test_vip_tiers_at_and_around_each_threshold(score: float, grade: str) -> None:
    assert assess(EXACT, VIP, {"score": score}).grade.name == grade


def test_the_score_is_the_weighted_mean_of_the_points() -> None:
    criteria = [
        Criterion("size", 3, options=(Option("large", 100), Option("medium", 60), Option("small", 20))),
        Criterion("budget", 1, range=NumericRange(0, 1000)),
    ]
    result = assess(criteria, ABCD, {"size": "medium", "budget": 250})
    assert result.score == Decimal("51.25")  # (3*60 + 1*25) / 4
    assert result.grade.name == "C"
    assert result.points == {"size": 60.0, "budget": 25.0}


def test_the_score_is_rounded_to_two_decimals_half_up_before_grading() -> None:
    # (2*80 + 1*79.985) / 3 = 79.995 exactly: shown as 80.00, so it is an A.
    criteria = [Criterion("a", 2, range=NumericRange(0, 100)), Criterion("b", 1, range=NumericRange(0, 100))]
    result = assess(criteria, ABCD, {"a": 80, "b": 79.985})
    assert result.score == Decimal("80.00")
    assert result.grade.name == "A"
    assert round_score(Fraction(1, 3) * 100) == Decimal("33.33")


def test_weights_need_not_be_whole_and_do_not_drift() -> None:
    criteria = [
        Criterion("a", 0.1, range=NumericRange(0, 100)),
        Criterion("b", 0.2, range=NumericRange(0, 100)),
    ]
    assert assess(criteria, ABCD, {"a": 80, "b": 80}).score == Decimal("80.00")


@pytest.mark.parametrize(("value", "points"), [(0, 100), (15, 75), (30, 50), (60, 0)])
def test_a_descending_range_gives_most_points_at_its_minimum(value: float, points: float) -> None:
    late_payment_days = Criterion("late", 1, range=NumericRange(0, 60, descending=True))
    assert float(points_for(late_payment_days, value)) == points


def test_a_rising_range_is_linear_from_min_to_max() -> None:
    staff = Criterion("staff", 1, range=NumericRange(10, 110))
    assert [float(points_for(staff, v)) for v in (10, 35, 110)] == [0, 25, 100]


def test_an_option_answer_may_be_a_number_matching_its_value() -> None:
    years = Criterion("years", 1, options=(Option("1", 10), Option("5", 90)))
    assert points_for(years, 5) == 90


def test_every_problem_with_the_answers_is_named_by_criterion() -> None:
    criteria = [
        Criterion("size", 1, options=(Option("large", 100),)),
        Criterion("budget", 1, range=NumericRange(0, 100)),
        Criterion("years", 1, range=NumericRange(0, 50)),
        Criterion("region", 1, options=(Option("north", 50),)),
    ]
    with pytest.raises(InvalidAnswers) as caught:
        assess(criteria, ABCD, {"size": "huge", "budget": 101, "years": True, "extra": 1})
    assert set(caught.value.problems) == {"size", "budget", "years", "region", "extra"}
    assert caught.value.problems["region"] == "not answered"
    assert "outside the range" in caught.value.problems["budget"]
    assert caught.value.problems["years"] == "must be a number"
    assert "not a criterion" in caught.value.problems["extra"]
    with pytest.raises(InvalidAnswers):
        assess(criteria[1:2], ABCD, {"budget": "50"})
    with pytest.raises(InvalidAnswers):
        assess(criteria[1:2], ABCD, {"budget": float("nan")})


def test_the_next_review_follows_the_grades_interval() -> None:
    assert next_review_on(date(2026, 12, 1), ABCD[0]) == date(2027, 3, 1)
    assert next_review_on(date(2026, 12, 1), VIP[3]) == date(2027, 12, 1)


@pytest.mark.parametrize(
    ("scores", "problem"),
    [
        ([80, 60, 40, 0], None),
        ([80, 80, 40, 0], "strictly"),
        ([60, 80, 40, 0], "strictly"),
        ([80, 60, 40, 10], "must be 0"),
        ([], "at least one"),
    ],
)
def test_thresholds_fall_strictly_to_zero(scores: list[float], problem: str | None) -> None:
    found = threshold_problem(scores)
    assert (found is None) if problem is None else (problem in (found or ""))


def test_grades_are_recognised_however_they_are_written() -> None:
    assert [canonical_grade(g) for g in ("a", " vip ", "tier  ii", "TIER III", "E", "")] == [
        "A",
        "VIP",
        "Tier II",
        "Tier III",
        None,
        None,
    ]


def test_care_is_due_a_cadence_after_the_last_contact_and_overdue_the_day_after() -> None:
    created, contacted = date(2026, 1, 1), date(2026, 3, 1)
    assert care_due_on(None, created, 30) == date(2026, 1, 31)
    assert not care_overdue(None, created, 30, as_of=date(2026, 1, 31))
    assert care_overdue(None, created, 30, as_of=date(2026, 2, 1))
    # Once contacted, the contact counts, not the creation.
    assert care_due_on(contacted, created, 7) == date(2026, 3, 8)
    assert not care_overdue(contacted, created, 7, as_of=date(2026, 3, 8))
    assert care_overdue(contacted, created, 7, as_of=date(2026, 3, 9))
