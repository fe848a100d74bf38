"""The customers service's rules: lifecycle transitions, grading arithmetic, care. No I/O."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any

from crm_kit import errors

# -- lifecycle -------------------------------------------------------------------------


class Stage(StrEnum):
    PROSPECT = "prospect"
    TRADITIONAL = "traditional"
    INACTIVE = "inactive"


class IllegalTransition(errors.Conflict):
    def __init__(self, current: Stage, wanted: Stage, allowed: frozenset[Stage]) -> None:
        names = ", ".join(sorted(allowed)) or "none"
        super().__init__(
            f"a {current} customer cannot become {wanted}; allowed: {names}",
            code="customer.stage_move_not_allowed",
            params={"from": str(current), "to": str(wanted), "allowed": [str(s) for s in sorted(allowed)]},
        )


#: Where each stage may go next.
TRANSITIONS: dict[Stage, frozenset[Stage]] = {
    Stage.PROSPECT: frozenset({Stage.TRADITIONAL, Stage.INACTIVE}),
    Stage.TRADITIONAL: frozenset({Stage.INACTIVE}),
    Stage.INACTIVE: frozenset({Stage.PROSPECT, Stage.TRADITIONAL}),
}


def promotion(current: Stage) -> bool:
    """Whether promoting a customer in `current` changes anything.

    Promotion is idempotent: a traditional customer stays as it is. An inactive
    customer who buys again comes back as traditional.
    """
    if current == Stage.TRADITIONAL:
        return False
    if Stage.TRADITIONAL not in TRANSITIONS[current]:
        raise IllegalTransition(current, Stage.TRADITIONAL, TRANSITIONS[current])
    return True


def deactivation(current: Stage) -> bool:
    """Whether deactivating a customer in `current` changes anything (idempotent, like promotion)."""
    return current != Stage.INACTIVE


# -- the timeline ----------------------------------------------------------------------


class TimelineKind(StrEnum):
    """What a customer's timeline entry records."""

    REGISTERED = "registered"
    UPDATED = "updated"
    IMPORTED = "imported"
    OWNER_CHANGED = "owner_changed"
    STAGE_CHANGED = "stage_changed"
    GRADED = "graded"
    ACTIVITY_PLANNED = "activity_planned"
    ACTIVITY_DONE = "activity_done"
    ACTIVITY_CANCELLED = "activity_cancelled"
    ACTIVITY_REASSIGNED = "activity_reassigned"
    QUOTE_APPROVED = "quote_approved"
    #: With a link to the document the customer received (`detail.document`).
    QUOTE_SENT = "quote_sent"
    QUOTE_REJECTED = "quote_rejected"
    QUOTE_ACCEPTED = "quote_accepted"
    ORDER_PLACED = "order_placed"
    CONTACT_ADDED = "contact_added"
    CONTACT_UPDATED = "contact_updated"
    CONTACT_REMOVED = "contact_removed"
    #: On the customer kept by a merge; the merged one's entry is `MERGED_INTO`.
    MERGED = "merged"
    MERGED_INTO = "merged_into"
    #: A lead converted onto this existing customer (no second record of them).
    LEAD_CONVERTED = "lead_converted"


# -- grade schemes ---------------------------------------------------------------------


class SchemeKind(StrEnum):
    ABCD = "abcd"
    VIP = "vip"
    CUSTOM = "custom"


#: The grade names of the fixed schemes, best first.
FIXED_SCHEMES: dict[SchemeKind, tuple[str, ...]] = {
    SchemeKind.ABCD: ("A", "B", "C", "D"),
    SchemeKind.VIP: ("VIP", "Tier I", "Tier II", "Tier III"),
}

#: Every grade a fixed scheme can give, as written (imports accept these).
KNOWN_GRADES: tuple[str, ...] = FIXED_SCHEMES[SchemeKind.ABCD] + FIXED_SCHEMES[SchemeKind.VIP]


def canonical_grade(raw: str) -> str | None:
    """`tier ii` -> `Tier II`; None if it is not a grade of a fixed scheme."""
    wanted = " ".join(raw.split()).casefold()
    return next((g for g in KNOWN_GRADES if g.casefold() == wanted), None)


@dataclass(frozen=True)
class GradeBand:
    name: str
    #: The lowest score (0-100) that earns this grade.
    min_score: float
    review_interval_days: int
    care_cadence_days: int


def threshold_problem(min_scores: Sequence[float]) -> str | None:
    """What is wrong with a scheme's thresholds (best grade first), or None."""
    if not min_scores:
        return "a scheme needs at least one grade"
    for higher, lower in itertools.pairwise(min_scores):
        if not lower < higher:
            scores = ", ".join(f"{s:g}" for s in min_scores)
            return f"min_score must fall strictly from the best grade to the lowest (got {scores})"
    if min_scores[-1] != 0:
        return f"the lowest grade's min_score must be 0, not {min_scores[-1]}"
    return None


def grade_for(bands: Sequence[GradeBand], score: float) -> GradeBand:
    """The best grade whose min_score the score reaches (bands best first, the last at 0)."""
    for band in bands:
        if score >= band.min_score:
            return band
    raise ValueError(f"score {score} is below every grade")


# -- criteria and scoring --------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    value: str
    points: float


@dataclass(frozen=True)
class NumericRange:
    min: float
    max: float
    #: Points fall from 100 at `min` to 0 at `max` (e.g. days of payment delay).
    descending: bool = False


@dataclass(frozen=True)
class Criterion:
    key: str
    weight: float
    options: tuple[Option, ...] | None = None
    range: NumericRange | None = None


class InvalidAnswers(errors.Invalid):
    """Answers that cannot be scored; `problems` maps each criterion key to what is wrong.

    Answered as a 422 located at each answer of the request (`body.answers.<key>`).
    """

    #: Keyed by criterion, as the grading rules name them (the kit's located list is
    #: what the 422 answers with).
    problems: dict[str, str]

    def __init__(self, problems: dict[str, str], coded: dict[str, AnswerProblem] | None = None) -> None:
        coded = coded or {}
        located = [
            errors.At(
                ("body", "answers", key),
                message,
                coded[key].code if key in coded else "answer.invalid",
                coded[key].params if key in coded else {},
            )
            for key, message in problems.items()
        ]
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()), problems=located)
        self.problems = problems


class AnswerProblem(ValueError):
    """Why an answer cannot be scored: the English, a stable code and its params."""

    def __init__(self, message: str, code: str, params: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.params = dict(params or {})


def _exact(number: float | int) -> Fraction:
    # Through str, so 0.1 is one tenth and not its binary neighbour.
    return Fraction(str(number))


def points_for(criterion: Criterion, answer: Any) -> Fraction:
    """Points (0-100) an answer earns; ValueError saying why it is not a valid answer."""
    if criterion.options is not None:
        if isinstance(answer, bool) or not isinstance(answer, str | int):
            raise AnswerProblem(
                "must be one of the option values",
                "answer.not_an_option",
                {"options": [o.value for o in criterion.options]},
            )
        chosen = next((o for o in criterion.options if o.value == str(answer)), None)
        if chosen is None:
            allowed = ", ".join(repr(o.value) for o in criterion.options)
            raise AnswerProblem(
                f"{answer!r} is not an option (one of {allowed})",
                "answer.not_an_option",
                {"options": [o.value for o in criterion.options]},
            )
        return _exact(chosen.points)
    assert criterion.range is not None
    span = criterion.range
    if isinstance(answer, bool) or not isinstance(answer, int | float) or not math.isfinite(answer):
        raise AnswerProblem("must be a number", "answer.not_a_number")
    if not span.min <= answer <= span.max:
        raise AnswerProblem(
            f"{answer} is outside the range {span.min}-{span.max}",
            "answer.out_of_range",
            {"min": span.min, "max": span.max},
        )
    low, high, value = _exact(span.min), _exact(span.max), _exact(answer)
    rising = (value - low) / (high - low) * 100
    return 100 - rising if span.descending else rising


def round_score(exact: Fraction) -> Decimal:
    """Two decimals, halves up (79.995 -> 80.00), as a person rounds."""
    return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )


@dataclass(frozen=True)
class Assessment:
    score: Decimal
    grade: GradeBand
    #: Points per criterion key, for the record.
    points: dict[str, float]


def assess(
    criteria: Sequence[Criterion], bands: Sequence[GradeBand], answers: Mapping[str, Any]
) -> Assessment:
    """Score the answers: sum(weight * points) / sum(weight), rounded to 2 decimals;
    the grade is the best one whose min_score the rounded score reaches.

    Raises `InvalidAnswers` naming every unanswered, unknown or invalid criterion.
    """
    problems: dict[str, str] = {}
    coded: dict[str, AnswerProblem] = {}
    points: dict[str, Fraction] = {}
    for criterion in criteria:
        if criterion.key not in answers or answers[criterion.key] is None:
            problems[criterion.key] = "not answered"
            coded[criterion.key] = AnswerProblem("not answered", "answer.missing")
            continue
        try:
            points[criterion.key] = points_for(criterion, answers[criterion.key])
        except AnswerProblem as exc:
            problems[criterion.key] = str(exc)
            coded[criterion.key] = exc
    known = {c.key for c in criteria}
    for key in answers:
        if key not in known:
            problems[key] = "not a criterion of this questionnaire"
            coded[key] = AnswerProblem(problems[key], "answer.unknown_criterion", {"criterion": key})
    if problems:
        raise InvalidAnswers(problems, coded)
    total_weight = sum((_exact(c.weight) for c in criteria), Fraction(0))
    weighted = sum((_exact(c.weight) * points[c.key] for c in criteria), Fraction(0))
    score = round_score(weighted / total_weight)
    return Assessment(
        score=score,
        grade=grade_for(bands, float(score)),
        points={k: float(round_score(p)) for k, p in points.items()},
    )


def next_review_on(graded_on: date, band: GradeBand) -> date:
    return graded_on + timedelta(days=band.review_interval_days)


# -- care ------------------------------------------------------------------------------


class ActivityKind(StrEnum):
    CALL = "call"
    VISIT = "visit"
    EMAIL = "email"
    MEETING = "meeting"
    DEMO = "demo"


class ActivityStatus(StrEnum):
    PLANNED = "planned"
    DONE = "done"
    CANCELLED = "cancelled"


def care_due_on(last_contact_on: date | None, created_on: date, cadence_days: int) -> date:
    """The day by which the customer should have been contacted again.

    Counted from the last contact, or from the customer's creation if nobody has
    contacted them yet.
    """
    return (last_contact_on or created_on) + timedelta(days=cadence_days)


def care_overdue(last_contact_on: date | None, created_on: date, cadence_days: int, as_of: date) -> bool:
    """Overdue once the last contact is *older* than the cadence: due on day N, overdue on N+1."""
    return as_of > care_due_on(last_contact_on, created_on, cadence_days)


# -- imports ---------------------------------------------------------------------------


class ImportStatus(StrEnum):
    PREVIEWED = "previewed"
    COMMITTED = "committed"
