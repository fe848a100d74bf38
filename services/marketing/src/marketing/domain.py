"""Marketing's rules, without I/O: periods, share arithmetic, the channel tree."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
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
            raise InvalidPeriod(f"period {text!r} is not {kinds}")
        year = int(match["year"])
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise InvalidPeriod(f"period {text!r}: the year must be between {MIN_YEAR} and {MAX_YEAR}")
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


# -- targets ----------------------------------------------------------------------------


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
