"""Marketing's rules, without I/O: periods, share arithmetic, the channel tree."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from crm_kit import errors
from crm_kit.customer_copy import Stage


class ChannelKind(StrEnum):
    DISTRIBUTOR = "distributor"
    DEALER = "dealer"
    RETAIL = "retail"
    AGENT = "agent"
    ONLINE = "online"
    PROJECT = "project"


class VolumeSource(StrEnum):
    """Where a market volume estimate comes from."""

    SURVEY = "survey"
    INDUSTRY_REPORT = "industry_report"
    ESTIMATE = "estimate"


class LeadOutcome(StrEnum):
    """Where a lead stands as marketing knows it (`LeadFact.outcome`)."""

    CAPTURED = "captured"
    QUALIFIED = "qualified"
    DISQUALIFIED = "disqualified"


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    LAUNCHED = "launched"


class ProposalStatus(StrEnum):
    """What became of a proposed target (`POST /api/targets/proposals`)."""

    #: Proposed, not written (the request did not accept).
    PROPOSED = "proposed"
    #: Written as a target (accepted).
    CREATED = "created"
    #: The scope has a target for the period already: left as it is.
    EXISTS = "exists"
    #: No market volume (or a zero one) to propose from.
    NO_MARKET_VOLUME = "no_market_volume"


#: A customer's stage, as marketing's copy of the customers keeps it.
LifecycleStage = Stage

_PERIOD = re.compile(r"^(?P<year>[0-9]{4})(?:-Q(?P<quarter>[1-4])|-(?P<month>0[1-9]|1[0-2]))?$")
MIN_YEAR, MAX_YEAR = 2000, 2100


class InvalidPeriod(errors.Invalid):
    """Not a year (2026) or a quarter (2026-Q3) in the years a plan may cover (422)."""


@dataclass(frozen=True, order=True)
class Period:
    """A year (`2026`), a quarter of one (`2026-Q3`) or, for plans, a month (`2026-03`);
    a month also knows its quarter."""

    year: int
    quarter: int | None = None
    month: int | None = None

    @classmethod
    def parse(cls, text: str, *, months: bool = False) -> Period:
        """A year or a quarter; with `months`, a month too (targets are set per month,
        market volumes per year or quarter)."""
        match = _PERIOD.match(text.strip().upper())
        if match is None or (match["month"] and not months):
            kinds = (
                "a year (2026), a quarter (2026-Q3) or a month (2026-03)"
                if months
                else ("a year (2026) or a quarter (2026-Q3)")
            )
            raise InvalidPeriod(
                f"period {text!r} is not {kinds}",
                code="period.not_year_quarter_or_month" if months else "period.not_year_or_quarter",
                params={"period": text},
            )
        year = int(match["year"])
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise InvalidPeriod(
                f"period {text!r}: the year must be between {MIN_YEAR} and {MAX_YEAR}",
                code="period.year_out_of_range",
                params={"period": text, "min_year": MIN_YEAR, "max_year": MAX_YEAR},
            )
        if match["month"]:
            return cls.of_month(date(year, int(match["month"]), 1))
        return cls(year, int(match["quarter"]) if match["quarter"] else None)

    @classmethod
    def of_quarter(cls, day: date) -> Period:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @classmethod
    def of_month(cls, day: date) -> Period:
        return cls(day.year, (day.month - 1) // 3 + 1, day.month)

    def __str__(self) -> str:
        if self.month is not None:
            return f"{self.year}-{self.month:02d}"
        return f"{self.year}" if self.quarter is None else f"{self.year}-Q{self.quarter}"

    @property
    def start(self) -> date:
        """Its first day."""
        if self.month is not None:
            return date(self.year, self.month, 1)
        return date(self.year, 1 if self.quarter is None else 3 * self.quarter - 2, 1)

    @property
    def end(self) -> date:
        """The first day after it."""
        if self.month is not None:
            return date(self.year + self.month // 12, self.month % 12 + 1, 1)
        if self.quarter is None or self.quarter == 4:
            return date(self.year + 1, 1, 1)
        return date(self.year, 3 * self.quarter + 1, 1)

    def parts(self) -> list[Period]:
        """The periods one step finer that make it up: a year's quarters, a quarter's
        months; a month has none."""
        if self.month is not None:
            return []
        if self.quarter is None:
            return [Period(self.year, q) for q in range(1, 5)]
        return [Period(self.year, self.quarter, m) for m in range(3 * self.quarter - 2, 3 * self.quarter + 1)]

    def previous(self) -> Period:
        """The period of the same length just before: 2026 -> 2025, 2026-Q1 -> 2025-Q4,
        2026-01 -> 2025-12."""
        if self.month is not None:
            return Period.of_month(date(self.year - (self.month == 1), (self.month - 2) % 12 + 1, 1))
        if self.quarter is None:
            return Period(self.year - 1)
        if self.quarter == 1:
            return Period(self.year - 1, 4)
        return Period(self.year, self.quarter - 1)


def share(revenue: int, market_volume: int | None) -> float | None:
    """Revenue as a fraction of the market; unknown when there is no (or a zero) volume."""
    if not market_volume:
        return None
    return revenue / market_volume


def change(current: float | None, previous: float | None) -> float | None:
    """The change in share (in fraction points) against the previous period."""
    if current is None or previous is None:
        return None
    return current - previous


def part_of(amount: int, whole: int) -> float | None:
    """`amount` as a fraction of `whole` (a channel's part of a province's revenue);
    unknown when the whole is nothing (or, after credit notes, less than nothing)."""
    if whole <= 0:
        return None
    return amount / whole


# -- market volumes of any period -------------------------------------------------------


@dataclass(frozen=True)
class DerivedVolume:
    """The market volume of a period, and the estimates it comes from."""

    amount: int
    #: The periods of the estimates used: the period's own, its quarter's or year's
    #: (divided evenly), or a year's four quarters (added up).
    source_periods: tuple[str, ...]


def divide_evenly(amount: int, parts: int) -> int:
    """One of `parts` equal parts of `amount`, to the nearest dong (half up)."""
    return (2 * amount + parts) // (2 * parts)


def market_volume(period: Period, estimates: Mapping[str, int]) -> DerivedVolume | None:
    """The market volume of `period` from `estimates` (period -> amount, for one region
    and product group; estimates are per year or quarter).

    The period's own estimate if there is one; else a month's is its quarter's / 3, or
    its year's / 12; a quarter's its year's / 4; a year's the sum of its four quarters
    when all four are estimated. None when nothing fits.
    """
    own = estimates.get(str(period))
    if own is not None:
        return DerivedVolume(own, (str(period),))
    year = Period(period.year)
    if period.month is not None:
        quarter = Period(period.year, period.quarter)
        if (amount := estimates.get(str(quarter))) is not None:
            return DerivedVolume(divide_evenly(amount, 3), (str(quarter),))
        if (amount := estimates.get(str(year))) is not None:
            return DerivedVolume(divide_evenly(amount, 12), (str(year),))
        return None
    if period.quarter is not None:
        if (amount := estimates.get(str(year))) is not None:
            return DerivedVolume(divide_evenly(amount, 4), (str(year),))
        return None
    quarters = [str(q) for q in period.parts()]
    if all(q in estimates for q in quarters):
        return DerivedVolume(sum(estimates[q] for q in quarters), tuple(quarters))
    return None


def estimate_periods(period: Period) -> list[Period]:
    """The periods whose estimates `market_volume` may read for `period`: its year and
    the year's quarters."""
    year = Period(period.year)
    return [year, *year.parts()]


# -- targets ----------------------------------------------------------------------------

#: The largest share of a market a proposal may take: all of it.
MAX_SHARE = Decimal(1)


def proposed_target(market_volume: int, share: Decimal) -> int:
    """A target proposed from the market: `round(market_volume x share)`, to the nearest
    dong (half up); `share` is a fraction of the market, 0 < share <= 1."""
    if not 0 < share <= MAX_SHARE:
        raise ValueError(f"a share is more than 0 and at most 1, not {share}")
    return int((market_volume * share).to_integral_value(rounding=ROUND_HALF_UP))


def rolled_up_target(period: Period, amounts: Mapping[str, int]) -> int | None:
    """The target of `period` among `amounts` (period -> amount, for one scope): its own if
    set; else the sum of its parts' (a year's quarters, a quarter's months), each found
    the same way; None if nothing within it has a target."""
    own = amounts.get(str(period))
    if own is not None:
        return own
    parts = [target for part in period.parts() if (target := rolled_up_target(part, amounts)) is not None]
    return sum(parts) if parts else None


def periods_within(period: Period) -> list[Period]:
    """The period and every finer one inside it: a year, its quarters and its months."""
    return [period, *(inner for part in period.parts() for inner in periods_within(part))]


def attainment(actual: int, target: int | None) -> float | None:
    """Actual revenue as a fraction of the target; unknown without a (non-zero) target."""
    if not target:
        return None
    return actual / target


def split_in_proportion(total: int, weights: Sequence[int]) -> list[int]:
    """`total` split into whole parts in proportion to `weights`, adding up exactly (the
    largest remainders get the odd dong); all to the first part if the weights are 0."""
    if not weights:
        return []
    whole = sum(weights)
    if whole <= 0:
        return [total, *([0] * (len(weights) - 1))]
    exact = [total * weight for weight in weights]
    parts = [value // whole for value in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] % whole), i))
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


# -- the channel tree -------------------------------------------------------------------

Parents = Mapping[uuid.UUID, uuid.UUID | None]


def would_loop(channel_id: uuid.UUID, new_parent_id: uuid.UUID | None, parents: Parents) -> bool:
    """Whether making `new_parent_id` the parent of `channel_id` closes a loop
    (the new parent is the channel itself or one of its descendants)."""
    seen: set[uuid.UUID] = set()
    current = new_parent_id
    while current is not None:
        if current == channel_id or current in seen:
            return True
        seen.add(current)
        current = parents.get(current)
    return False


def ancestors_and_self(channel_id: uuid.UUID, parents: Parents) -> list[uuid.UUID]:
    """The channel, its parent, its parent's parent ... (stops at a loop, should one exist)."""
    chain: list[uuid.UUID] = []
    current: uuid.UUID | None = channel_id
    while current is not None and current not in chain:
        chain.append(current)
        current = parents.get(current)
    return chain


def descendants_and_self(channel_ids: Iterable[uuid.UUID], parents: Parents) -> set[uuid.UUID]:
    """The channels and every channel that sells through them, at any depth."""
    wanted = set(channel_ids)
    return {c for c in parents if wanted.intersection(ancestors_and_self(c, parents))} | wanted


RegionChannel = tuple[str, uuid.UUID | None]


def roll_up(revenue: Mapping[RegionChannel, int], parents: Parents) -> dict[RegionChannel, int]:
    """Revenue per region x channel where each channel also counts its descendants'.

    Revenue without a channel stays under `None`; a channel sells through its parent,
    so what a dealer sells in a region is the distributor's revenue there too.
    """
    rolled: dict[RegionChannel, int] = {}
    for (region, channel), amount in revenue.items():
        chain: list[uuid.UUID | None] = (
            list(ancestors_and_self(channel, parents)) if channel is not None else [None]
        )
        for holder in chain:
            rolled[(region, holder)] = rolled.get((region, holder), 0) + amount
    return rolled
