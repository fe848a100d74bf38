"""Request and response models. Requests refuse unknown fields: owner, status and
ids change only through their own operations (no mass assignment)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, EmailStr, Field, field_validator
from pydantic_core import PydanticCustomError

from crm_kit.spreadsheet import RowProblem
from crm_kit.text import normalize_email, normalize_vn_phone

from . import domain
from .domain import MatchKind, PlannedChannel, Source, Status
from .models import DisqualifyReason, Lead


def _blank_is_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _vn_phone(value: str | None) -> str | None:
    if value is not None and normalize_vn_phone(value) is None:
        raise PydanticCustomError("phone.invalid", "not a Vietnamese phone number", {"value": value})
    return value


def _email(value: str | None) -> str | None:
    return normalize_email(value)


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


Text200 = Annotated[Annotated[str, Field(max_length=200)] | None, BeforeValidator(_blank_is_none)]
Note = Annotated[Annotated[str, Field(max_length=2000)] | None, BeforeValidator(_blank_is_none)]
#: Stored as typed; must be a Vietnamese number (`normalize_vn_phone`).
Phone = Annotated[
    Annotated[str, Field(max_length=40)] | None, BeforeValidator(_blank_is_none), AfterValidator(_vn_phone)
]
Email = Annotated[
    Annotated[EmailStr, Field(max_length=254)] | None, BeforeValidator(_blank_is_none), AfterValidator(_email)
]
RegionCode = Annotated[
    Annotated[str, Field(pattern=r"^[0-9A-Z]{1,10}$", description="province code")] | None,
    BeforeValidator(_blank_is_none),
    BeforeValidator(_upper),
]
FullName = Annotated[str, Field(min_length=1, max_length=200)]
ReasonCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,49}$")]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ApproachPlan(Request):
    planned_contact_on: date | None = None
    planned_channel: PlannedChannel | None = None
    note: Note = None


class LeadCreate(Request):
    full_name: FullName
    company: Text200 = None
    phone: Phone = None
    email: Email = None
    source: Source
    region_code: RegionCode = None
    channel_id: uuid.UUID | None = None
    campaign_id: uuid.UUID | None = None
    #: Managers may capture for someone else; everyone else captures for themselves.
    owner_id: uuid.UUID | None = None
    approach_plan: ApproachPlan | None = None
    #: Create even though the lead looks like one that exists (after a 409).
    confirm_duplicate: bool = False


#: What a capture (or an import row) says about the lead, each a `Lead` column of the same name.
CAPTURED_FIELDS = frozenset(
    {"full_name", "company", "phone", "email", "source", "region_code", "channel_id", "campaign_id"}
)


class LeadUpdate(Request):
    """Only what is set is changed; `null` clears an optional field."""

    full_name: FullName | None = None
    company: Text200 = None
    phone: Phone = None
    email: Email = None
    region_code: RegionCode = None
    channel_id: uuid.UUID | None = None
    campaign_id: uuid.UUID | None = None
    approach_plan: ApproachPlan | None = None
    confirm_duplicate: bool = False

    @field_validator("full_name")
    @classmethod
    def _full_name_stays(cls, value: str | None) -> str:
        # Runs only when the field was sent: `null` would clear a required field.
        if value is None:
            raise PydanticCustomError("lead.full_name_required", "a lead needs a full name")
        return value


class ContactRequest(Request):
    note: Note = None


class EvaluateRequest(Request):
    promising: bool
    note: Note = None


class DisqualifyRequest(Request):
    reason: str = Field(min_length=1, max_length=50)
    note: Note = None


class OpportunityDraft(Request):
    name: str = Field(min_length=1, max_length=200)
    #: Integer dong.
    expected_amount: int = Field(ge=0)


class ConvertRequest(Request):
    opportunity: OpportunityDraft | None = None
    #: The lead is this existing customer: convert onto it instead of minting a prospect.
    customer_id: uuid.UUID | None = None


class AssignRequest(Request):
    owner_id: uuid.UUID


class MergeRequest(Request):
    duplicate_id: uuid.UUID


class ReasonCreate(Request):
    code: ReasonCode
    label_vi: str = Field(min_length=1, max_length=200)
    label_en: str = Field(min_length=1, max_length=200)


class ReasonUpdate(Request):
    active: bool | None = None
    label_vi: str | None = Field(default=None, min_length=1, max_length=200)
    label_en: str | None = Field(default=None, min_length=1, max_length=200)


# -- responses ---------------------------------------------------------------------


class ApproachPlanOut(BaseModel):
    planned_contact_on: date | None
    planned_channel: str | None
    note: str | None


class EvaluationOut(BaseModel):
    promising: bool | None
    note: str | None
    evaluated_at: datetime | None


class LeadOut(BaseModel):
    id: uuid.UUID
    full_name: str
    company: str | None
    phone: str | None
    phone_normalized: str | None
    email: str | None
    source: Source
    region_code: str | None
    channel_id: uuid.UUID | None
    campaign_id: uuid.UUID | None
    owner_id: uuid.UUID
    status: Status
    approach_plan: ApproachPlanOut | None
    contacted_at: datetime | None
    contact_note: str | None
    evaluation: EvaluationOut | None
    disqualify_reason: str | None
    disqualify_note: str | None
    customer_id: uuid.UUID | None
    opportunity_id: uuid.UUID | None
    merged_into_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    converted_at: datetime | None
    merged_at: datetime | None
    #: Where the lead may move next by its own operations, in the pipeline's order (a
    #: board's choices); merging is not a move, and only a promising evaluation converts.
    next_statuses: list[Status]

    @classmethod
    def of(cls, lead: Lead) -> LeadOut:
        plan = None
        if lead.planned_contact_on or lead.planned_channel or lead.plan_note:
            plan = ApproachPlanOut(
                planned_contact_on=lead.planned_contact_on,
                planned_channel=lead.planned_channel,
                note=lead.plan_note,
            )
        evaluation = None
        if lead.evaluated_at is not None:
            evaluation = EvaluationOut(
                promising=lead.promising, note=lead.evaluation_note, evaluated_at=lead.evaluated_at
            )
        # Every other field is the lead's column of the same name.
        columns = {name: getattr(lead, name) for name in cls.model_fields if name not in _SHAPED}
        moves = domain.next_statuses(lead.status, lead.promising)
        return cls(**columns, approach_plan=plan, evaluation=evaluation, next_statuses=moves)


#: The fields of `LeadOut` that are not a column of the lead as they are.
_SHAPED = frozenset({"approach_plan", "evaluation", "next_statuses"})


class ConvertOut(BaseModel):
    customer_id: uuid.UUID
    opportunity_id: uuid.UUID | None


class HistoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    lead_id: uuid.UUID
    at: datetime
    actor_id: uuid.UUID | None
    action: str
    changes: dict[str, Any]


class ReasonOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    label_vi: str
    label_en: str
    active: bool

    @classmethod
    def of(cls, reason: DisqualifyReason) -> ReasonOut:
        return cls.model_validate(reason)


class DuplicateOut(BaseModel):
    """A lead the new one looks like. For a lead the caller may not see, only
    `id`, `status` and `matched_on` are given."""

    id: uuid.UUID
    status: Status
    matched_on: list[MatchKind]
    full_name: str | None = None
    company: str | None = None
    phone: str | None = None
    email: str | None = None
    owner_id: uuid.UUID | None = None


class ImportDuplicate(BaseModel):
    row: int
    matched_on: list[MatchKind]
    #: The lead it duplicates: one already in the database, or one this file just imported.
    duplicate_of: uuid.UUID
    #: The earlier row of the same file, when the duplicate is within the file.
    duplicate_of_row: int | None = None


class ImportRejected(BaseModel):
    row: int
    #: "column: what is wrong", one per problem (the English of `problems`).
    errors: list[str]
    problems: list[RowProblem] = []


class ImportReport(BaseModel):
    total_rows: int
    imported: int
    imported_ids: list[uuid.UUID]
    duplicates: list[ImportDuplicate]
    rejected: list[ImportRejected]


class CampaignOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    starts_on: date
    ends_on: date | None
