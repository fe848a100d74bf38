"""Request and response models. Requests forbid unknown fields: owner, status, totals,
revision numbers and who entered what are set by their own operations only."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator
from pydantic_core import PydanticCustomError

from crm_kit.spreadsheet import RowProblem

from .domain import (
    CampaignStatus,
    ChannelKind,
    InvalidPeriod,
    LifecycleStage,
    Period,
    ProposalStatus,
    VolumeSource,
)
from .regions import Grouping, Kind, MatchKind

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ProductGroup = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
Grade = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
#: Integer dong; up to a quadrillion, far beyond any market and safely inside BIGINT.
Dong = Annotated[int, Field(ge=0, le=10**15)]
MAX_REGIONS = 200


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


# -- regions ----------------------------------------------------------------------------


class RegionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    official_name: str
    name_ascii: str
    kind: Kind
    macro_region: str
    socio_economic_region: str


class FormerProvinceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    name_ascii: str
    kind: Kind
    region_code: str


class RegionDetailOut(RegionOut):
    #: The provinces before 1 July 2025 that it was formed from.
    former_provinces: list[FormerProvinceOut]


class RegionGroupOut(BaseModel):
    grouping: Grouping
    code: str
    name: str
    name_ascii: str
    name_en: str
    regions: list[RegionOut]


class ResolvedOut(BaseModel):
    query: str
    matched: MatchKind
    region: RegionOut
    #: The former province the query named, when it named one.
    former: FormerProvinceOut | None = None


# -- channels ---------------------------------------------------------------------------


class ChannelCreate(Request):
    name: Name
    kind: ChannelKind
    parent_id: uuid.UUID | None = None
    region_codes: list[Code] = Field(default_factory=list, max_length=MAX_REGIONS)

    @field_validator("region_codes")
    @classmethod
    def _dedupe(cls, value: list[str]) -> list[str]:
        return _unique(value)


class ChannelPatch(Request):
    """Only the fields sent change; `"parent_id": null` detaches a channel from its parent."""

    name: Name | None = None
    parent_id: uuid.UUID | None = None
    active: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> ChannelPatch:
        if not self.model_fields_set:
            raise PydanticCustomError(
                "request.nothing_to_change", "nothing to change: send name, parent_id or active"
            )
        if "name" in self.model_fields_set and self.name is None:
            raise PydanticCustomError("request.field_null", "name cannot be null", {"field": "name"})
        if "active" in self.model_fields_set and self.active is None:
            raise PydanticCustomError("request.field_null", "active cannot be null", {"field": "active"})
        return self


class CoverageIn(Request):
    region_codes: list[Code] = Field(max_length=MAX_REGIONS)

    @field_validator("region_codes")
    @classmethod
    def _dedupe(cls, value: list[str]) -> list[str]:
        return _unique(value)


class AssignmentIn(Request):
    region_code: Code
    user_id: uuid.UUID


class AssignmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    region_code: str
    user_id: uuid.UUID


class ChannelOut(BaseModel):
    id: uuid.UUID
    name: str
    kind: ChannelKind
    parent_id: uuid.UUID | None
    active: bool
    region_codes: list[str]
    assignments: list[AssignmentOut]
    created_at: datetime
    updated_at: datetime


# -- market volumes ---------------------------------------------------------------------


def _period(value: str) -> str:
    try:
        return str(Period.parse(value))
    except InvalidPeriod as exc:
        raise PydanticCustomError(exc.code, exc.message, exc.params) from exc


class MarketVolumeCreate(Request):
    region_code: Code
    product_group: ProductGroup
    #: `2026` or `2026-Q3`.
    period: Annotated[str, StringConstraints(max_length=10)]
    amount: Dong
    #: Where the figure comes from; a figure without one is an estimate.
    source: VolumeSource = VolumeSource.ESTIMATE
    note: Note | None = None

    @field_validator("period")
    @classmethod
    def _normal_period(cls, value: str) -> str:
        return _period(value)


class MarketVolumeRevise(Request):
    """A new value for an estimate; the old one stays in its history. `source` and
    `note` stay as they are unless sent (`"note": null` clears the note)."""

    amount: Dong
    source: VolumeSource | None = None
    note: Note | None = None


class RevisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    revision: int
    amount: int
    source: VolumeSource
    note: str | None
    entered_by: uuid.UUID
    entered_at: datetime


class MarketVolumeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    region_code: str
    product_group: str
    period: str
    amount: int
    currency: Literal["VND"] = "VND"
    source: VolumeSource
    note: str | None
    revision: int
    entered_by: uuid.UUID
    entered_at: datetime
    updated_at: datetime


class MarketVolumeDetailOut(MarketVolumeOut):
    revisions: list[RevisionOut]


class RejectedRow(BaseModel):
    #: The line of the file, counting the header as line 1 (as a spreadsheet numbers it).
    row: int
    #: "column: what is wrong", one per problem (the English of `problems`).
    errors: list[str]
    #: The same problems, each with its column, code and params (said in the user's words).
    problems: list[RowProblem] = []

    @classmethod
    def of(cls, row: int, problems: list[RowProblem]) -> RejectedRow:
        return cls(row=row, errors=[p.text() for p in problems], problems=problems)

    @classmethod
    def repeats(cls, row: int, earlier: int, same: str) -> RejectedRow:
        """The row names what an earlier row of the file does (`same`: what they share)."""
        message = f"repeats row {earlier} (same {same})"
        return cls.of(
            row,
            [RowProblem(column="row", code="import.row_repeats", params={"row": earlier}, message=message)],
        )

    @classmethod
    def concurrent(cls, row: int) -> RejectedRow:
        """Someone else entered the row's estimate or target while the file was imported."""
        message = "entered by someone else at the same moment: import it again"
        return cls.of(row, [RowProblem(column="row", code="import.row_concurrent", message=message)])


class ImportReport(BaseModel):
    imported: int
    updated: int
    #: Rows equal to what was already stored (no new revision).
    unchanged: int
    rejected: list[RejectedRow]


# -- targets ----------------------------------------------------------------------------


def _plan_period(value: str) -> str:
    try:
        return str(Period.parse(value, months=True))
    except InvalidPeriod as exc:
        raise PydanticCustomError(exc.code, exc.message, exc.params) from exc


PlanPeriod = Annotated[str, StringConstraints(max_length=10)]


class TargetCreate(Request):
    """A sales target (chỉ tiêu doanh số): what a province should sell in a period, net of
    VAT, optionally narrowed to a channel (with the channels selling through it), a
    salesperson and a product group. One target per period and scope."""

    #: `2027`, `2027-Q1` or `2027-03`.
    period: PlanPeriod
    #: A province code or name, former or new.
    region_code: Code
    channel_id: uuid.UUID | None = None
    salesperson_id: uuid.UUID | None = None
    product_group: ProductGroup | None = None
    amount: Dong

    @field_validator("period")
    @classmethod
    def _normal_period(cls, value: str) -> str:
        return _plan_period(value)


class TargetRevise(Request):
    """A new amount; the old one stays in the target's history."""

    amount: Dong


class TargetOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    period: str
    region_code: str
    channel_id: uuid.UUID | None
    salesperson_id: uuid.UUID | None
    product_group: str | None
    amount: int
    currency: Literal["VND"] = "VND"
    revision: int
    entered_by: uuid.UUID
    entered_at: datetime
    updated_at: datetime


class TargetRevisionOut(BaseModel):
    revision: int
    amount: int
    #: The amount before this revision; None for the first.
    previous_amount: int | None
    entered_by: uuid.UUID
    entered_at: datetime


class TargetDetailOut(TargetOut):
    revisions: list[TargetRevisionOut]


class TargetProposalIn(Request):
    """Targets proposed from the market: each province's market volume in the period
    times `share`. Without `accept` nothing is written."""

    #: `2027`, `2027-Q1` or `2027-03`.
    period: PlanPeriod
    #: The fraction of the market to aim for: more than 0, at most 1 (0.15 is 15 %).
    share: Annotated[Decimal, Field(gt=0, le=1, max_digits=7, decimal_places=6)]
    #: Province codes or names, former or new; none means every province with a market volume.
    region_codes: list[Code] = Field(default_factory=list, max_length=MAX_REGIONS)
    #: One product group; none means one proposal per product group with a market volume.
    product_group: ProductGroup | None = None
    #: The channel the targets are for (with the channels selling through it); none means
    #: the whole province.
    channel_id: uuid.UUID | None = None
    #: Write the proposals as targets, skipping scopes that have one for the period.
    accept: bool = False

    @field_validator("period")
    @classmethod
    def _normal_period(cls, value: str) -> str:
        return _plan_period(value)

    @field_validator("region_codes")
    @classmethod
    def _dedupe(cls, value: list[str]) -> list[str]:
        return _unique(value)


class TargetProposalRow(BaseModel):
    region_code: str
    region_name: str
    product_group: str | None
    #: The market volume of the period (None when there is none to go by).
    market_volume: int | None
    #: The estimates it comes from: the period's own (`["2027-Q1"]`), its quarter's or
    #: year's divided evenly (a month: / 3 or / 12; a quarter: / 4), or a year's quarters.
    volume_from: list[str]
    #: round(market_volume x share); None without a market volume.
    amount: int | None
    status: ProposalStatus
    #: The target written (`created`), or the one the scope has already (`exists`).
    target_id: uuid.UUID | None = None


class TargetProposalOut(BaseModel):
    period: str
    share: float
    channel_id: uuid.UUID | None
    product_group: str | None
    accepted: bool
    currency: Literal["VND"] = "VND"
    rows: list[TargetProposalRow]
    #: Targets written (0 unless accepted).
    created: int
    #: Scopes left alone because they have a target for the period.
    skipped: int


class AttainmentRow(BaseModel):
    region_code: str
    channel_id: uuid.UUID | None
    salesperson_id: uuid.UUID | None
    product_group: str | None
    #: The period's target for this scope, rolled up from its quarters or months when
    #: the period itself has none.
    target: int
    #: Net revenue (without VAT) of the orders placed in the period and in scope.
    actual: int
    #: actual / target; None when the target is 0.
    attainment: float | None


class AttainmentOut(BaseModel):
    period: str
    currency: Literal["VND"] = "VND"
    rows: list[AttainmentRow]


# -- market share -----------------------------------------------------------------------


class MarketShareRow(BaseModel):
    region_code: str
    region_name: str
    #: None for revenue sold without a channel.
    channel_id: uuid.UUID | None
    channel_name: str | None
    #: Net revenue in the region and period through this channel and the channels
    #: selling through it (less credit notes).
    revenue: int
    #: The region's net revenue over every channel (and none) in the period.
    region_revenue: int
    #: Channel mix: `revenue / region_revenue`, this channel's part of the region's
    #: revenue (a parent's part includes its sub-channels'); None when the region sold
    #: nothing.
    channel_mix: float | None
    #: The region's market volume; a month's or quarter's without an estimate of its own
    #: is its quarter's / 3 or its year's / 12 (a quarter: its year's / 4).
    market_volume: int | None
    share: float | None
    previous_revenue: int
    previous_market_volume: int | None
    previous_share: float | None
    share_change: float | None


class WhiteSpaceRow(BaseModel):
    region_code: str
    region_name: str
    market_volume: int


class MarketShareOut(BaseModel):
    period: str
    previous_period: str
    product_group: str | None
    currency: Literal["VND"] = "VND"
    rows: list[MarketShareRow]
    white_space: list[WhiteSpaceRow]


# -- campaigns --------------------------------------------------------------------------


class CampaignTarget(Request):
    """Who a campaign is for; an empty list means "any". Fields combine with AND.

    `macro_regions` takes group codes of either grouping (`south`, `mekong_delta`);
    `channel_ids` includes the channels selling through them. Any stage means prospects
    and traditional customers: inactive (deactivated) ones only when `lifecycle_stages`
    names `inactive`.
    """

    grades: list[Grade] = Field(default_factory=list, max_length=50)
    lifecycle_stages: list[LifecycleStage] = Field(default_factory=list, max_length=3)
    region_codes: list[Code] = Field(default_factory=list, max_length=MAX_REGIONS)
    macro_regions: list[Code] = Field(default_factory=list, max_length=20)
    channel_ids: list[uuid.UUID] = Field(default_factory=list, max_length=200)


class CampaignCreate(Request):
    name: Name
    target: CampaignTarget = Field(default_factory=CampaignTarget)
    starts_on: date
    ends_on: date

    @model_validator(mode="after")
    def _dates(self) -> CampaignCreate:
        if self.ends_on < self.starts_on:
            raise PydanticCustomError(
                "campaign.ends_before_start",
                "ends_on is before starts_on",
                {"starts_on": self.starts_on.isoformat(), "ends_on": self.ends_on.isoformat()},
            )
        return self


class CampaignPatch(Request):
    """Changes to a draft; a launched campaign no longer changes."""

    name: Name | None = None
    target: CampaignTarget | None = None
    starts_on: date | None = None
    ends_on: date | None = None

    @model_validator(mode="after")
    def _something(self) -> CampaignPatch:
        if not self.model_fields_set:
            raise PydanticCustomError("request.nothing_to_change", "nothing to change")
        for field in self.model_fields_set:
            if getattr(self, field) is None:
                raise PydanticCustomError("request.field_null", "{field} cannot be null", {"field": field})
        return self


class CampaignOut(BaseModel):
    id: uuid.UUID
    name: str
    status: CampaignStatus
    target: CampaignTarget
    starts_on: date
    ends_on: date
    #: Live for a draft, fixed at launch.
    audience_size: int
    leads: int
    conversions: int
    disqualified: int
    conversion_rate: float | None
    orders: int
    #: Net (before VAT), integer dong.
    revenue: int
    currency: Literal["VND"] = "VND"
    created_by: uuid.UUID
    created_at: datetime
    launched_by: uuid.UUID | None
    launched_at: datetime | None


class AudienceMemberOut(BaseModel):
    customer_id: uuid.UUID
    name: str
    lifecycle_stage: str
    grade: str | None
    region_code: str | None
    region_name: str | None
    channel_id: uuid.UUID | None
    owner_id: uuid.UUID | None
