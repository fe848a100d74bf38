"""Request and response models. Requests refuse unknown fields: owner, stage and grade
change only through their own operations (no mass assignment)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from crm_kit.spreadsheet import RowProblem
from crm_kit.text import normalize_email, normalize_vn_phone, parse_vn_tax_code

from .domain import (
    FIXED_SCHEMES,
    ActivityKind,
    ActivityStatus,
    ImportStatus,
    SchemeKind,
    Stage,
    threshold_problem,
)


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _vn_phone(value: str | None) -> str | None:
    if value is None or not value:
        return None
    normalized = normalize_vn_phone(value)
    if normalized is None:
        raise PydanticCustomError(
            "phone.invalid",
            "not a Vietnamese phone number (e.g. 0912 345 678, +84 912 345 678)",
            {"value": value},
        )
    return normalized


VnPhone = Annotated[str | None, Field(max_length=40), AfterValidator(_vn_phone)]
Email = Annotated[EmailStr | None, AfterValidator(normalize_email)]


def _tax_code(value: str | None) -> str | None:
    return parse_vn_tax_code(value) if value else None


TaxCode = Annotated[
    str | None,
    Field(
        max_length=20,
        description="Vietnamese tax code (MST): 10 digits, or 10-3 (a dependent unit); check digit verified",
        examples=["0100233488", "0314409058-002"],
    ),
    AfterValidator(_tax_code),
]
LegalName = Annotated[str | None, Field(max_length=300, description="the registered business name")]
Address = Annotated[str | None, Field(max_length=500)]
RegionCode = Annotated[str | None, Field(pattern=r"^[0-9A-Z]{1,10}$", description="province code")]
Reason = Annotated[str, Field(min_length=1, max_length=500)]

# -- customers -------------------------------------------------------------------------


class CustomerCreate(Request):
    """A new prospect, owned by the caller."""

    name: str = Field(min_length=1, max_length=200)
    contact_name: str | None = Field(default=None, max_length=200)
    phone: VnPhone = None
    email: Email = None
    address: Address = None
    region_code: RegionCode = None
    channel_id: uuid.UUID | None = None
    tax_code: TaxCode = None
    legal_name: LegalName = None
    billing_address: Address = None
    #: Create it even though it looks like an existing customer (the duplicate warning).
    confirm_duplicate: bool = False


class CustomerPatch(Request):
    """Only the fields sent change; `null` clears one (except the name)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    contact_name: str | None = Field(default=None, max_length=200)
    phone: VnPhone = None
    email: Email = None
    address: Address = None
    region_code: RegionCode = None
    channel_id: uuid.UUID | None = None
    tax_code: TaxCode = None
    legal_name: LegalName = None
    billing_address: Address = None

    @field_validator("name")
    @classmethod
    def _name_stays(cls, value: str | None) -> str:
        if value is None:
            raise PydanticCustomError("customer.name_required", "a customer's name cannot be removed")
        return value

    def changes(self) -> dict[str, Any]:
        return {field: getattr(self, field) for field in self.model_fields_set}


class MergeRequest(Request):
    """The customer to fold into this one (as the leads' merge names it)."""

    duplicate_id: uuid.UUID


class AssignOwner(Request):
    owner_id: uuid.UUID


class Deactivate(Request):
    reason: Reason


class CustomerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    contact_name: str | None
    phone: str | None
    email: str | None
    address: str | None
    region_code: str | None
    channel_id: uuid.UUID | None
    tax_code: str | None = None
    legal_name: str | None = None
    billing_address: str | None = None
    owner_id: uuid.UUID | None
    lifecycle_stage: Stage
    #: Merged into this customer (then inactive), and when.
    merged_into_id: uuid.UUID | None = None
    merged_at: datetime | None = None
    source: str | None
    lead_id: uuid.UUID | None
    grade: str | None
    graded_at: datetime | None
    next_review_on: date | None
    grade_questionnaire_id: uuid.UUID | None
    grade_questionnaire_version: int | None
    last_contact_at: datetime | None
    promoted_at: datetime | None
    last_purchase_at: datetime | None = None
    last_order_total: int | None = None
    created_at: datetime
    updated_at: datetime


# -- contacts --------------------------------------------------------------------------

ContactName = Annotated[str, Field(min_length=1, max_length=200)]
ContactRole = Annotated[str | None, Field(max_length=100, description="e.g. purchasing, accounting")]


class ContactIn(Request):
    """A person at the customer; the first contact is the primary one whatever is sent."""

    name: ContactName
    role: ContactRole = None
    phone: VnPhone = None
    email: Email = None
    #: Make it the primary contact (the one before no longer is).
    is_primary: bool = False


class ContactPatch(Request):
    """Only the fields sent change; `null` clears one (except the name). `is_primary: true`
    makes it the primary contact; a primary stops being one only when another becomes it."""

    name: ContactName | None = None
    role: ContactRole = None
    phone: VnPhone = None
    email: Email = None
    is_primary: Literal[True] | None = None

    @field_validator("name", "is_primary")
    @classmethod
    def _not_cleared(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            raise PydanticCustomError("field.not_null", "{field} cannot be null", {"field": info.field_name})
        return value

    def changes(self) -> dict[str, Any]:
        return {field: getattr(self, field) for field in self.model_fields_set}


class ContactOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    customer_id: uuid.UUID
    name: str
    role: str | None
    phone: str | None
    email: str | None
    is_primary: bool
    created_at: datetime
    updated_at: datetime


class DuplicateOut(BaseModel):
    """A customer the new one looks like. For a customer the caller may not see, only
    `id`, `lifecycle_stage` and `matched_on` are given."""

    id: uuid.UUID
    lifecycle_stage: Stage
    matched_on: list[Literal["tax_code", "phone", "name"]]
    name: str | None = None
    tax_code: str | None = None
    phone: str | None = None
    owner_id: uuid.UUID | None = None


class CareOverdueOut(CustomerOut):
    #: The day the next contact was due; overdue since the day after.
    care_due_on: date
    care_cadence_days: int


class LapsedOut(CustomerOut):
    #: Days since the last order (or the promotion, for one who never ordered).
    days_without_order: int
    #: Days without an order after which a customer of its grade is lapsed.
    lapsed_after_days: int


class GradeMove(BaseModel):
    #: The customers' owner today.
    owner_id: uuid.UUID | None
    #: The grade on the first day (None: no grade yet, or not a customer yet).
    from_grade: str | None
    to_grade: str | None
    customers: int


class GradeMovesOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    #: The owner asked for (a salesperson: themselves); None for everyone's.
    owner_id: uuid.UUID | None
    rows: list[GradeMove]


class TimelineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    kind: str
    actor_id: uuid.UUID | None
    detail: dict[str, Any]


# -- questionnaires --------------------------------------------------------------------


class GradeIn(Request):
    #: Optional for the fixed schemes (filled from the scheme), required for `custom`.
    name: str | None = Field(default=None, min_length=1, max_length=40)
    min_score: float = Field(ge=0, le=100, allow_inf_nan=False)
    review_interval_days: int = Field(ge=1, le=3650)
    care_cadence_days: int = Field(ge=1, le=3650)


class SchemeIn(Request):
    kind: SchemeKind
    #: Best grade first; thresholds strictly descending, the lowest at 0.
    grades: list[GradeIn] = Field(min_length=1, max_length=10)

    @field_validator("grades")
    @classmethod
    def _names_and_thresholds(cls, grades: list[GradeIn], info: ValidationInfo) -> list[GradeIn]:
        kind = info.data.get("kind")
        if kind is None:  # `kind` itself was invalid and is reported
            return grades
        fixed = FIXED_SCHEMES.get(kind)
        if fixed is not None:
            if len(grades) != len(fixed):
                raise PydanticCustomError(
                    "scheme.fixed_grades",
                    "the {scheme} scheme has {count} grades, best first: {names}",
                    {
                        "scheme": str(kind),
                        "count": len(fixed),
                        "names": ", ".join(fixed),
                        "grades": list(fixed),
                    },
                )
            for grade, name in zip(grades, fixed, strict=True):
                if grade.name is not None and grade.name.casefold() != name.casefold():
                    raise PydanticCustomError(
                        "scheme.fixed_grades",
                        "the {scheme} scheme's grades are, best first: {names}",
                        {
                            "scheme": str(kind),
                            "count": len(fixed),
                            "names": ", ".join(fixed),
                            "grades": list(fixed),
                        },
                    )
                grade.name = name
        else:
            names = [g.name for g in grades]
            if any(n is None for n in names):
                raise PydanticCustomError(
                    "scheme.grade_name_required", "every grade of a custom scheme needs a name"
                )
            folded = [n.casefold() for n in names if n is not None]
            if len(set(folded)) != len(folded):
                raise PydanticCustomError("scheme.grade_names_repeated", "grade names must be unique")
            if len(grades) < 2:
                raise PydanticCustomError("scheme.too_few_grades", "a scheme needs at least two grades")
        problem = threshold_problem([g.min_score for g in grades])
        if problem:
            raise PydanticCustomError("scheme.thresholds_invalid", "{problem}", {"problem": problem})
        return grades


class OptionIn(Request):
    value: str = Field(min_length=1, max_length=100)
    label: str = Field(min_length=1, max_length=200)
    points: float = Field(ge=0, le=100, allow_inf_nan=False)


class RangeIn(Request):
    """Points rise linearly from 0 at `min` to 100 at `max` (or fall, if `descending`)."""

    min: float = Field(allow_inf_nan=False)
    max: float = Field(allow_inf_nan=False)
    descending: bool = False

    @model_validator(mode="after")
    def _min_below_max(self) -> RangeIn:
        if not self.min < self.max:
            raise PydanticCustomError(
                "range.min_not_below_max",
                "min ({min}) must be below max ({max})",
                {"min": self.min, "max": self.max},
            )
        return self


class CriterionIn(Request):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,49}$")
    question: str = Field(min_length=1, max_length=500)
    weight: float = Field(gt=0, le=1000, allow_inf_nan=False)
    options: list[OptionIn] | None = Field(default=None, min_length=1, max_length=50)
    range: RangeIn | None = None

    @field_validator("options")
    @classmethod
    def _unique_values(cls, options: list[OptionIn] | None) -> list[OptionIn] | None:
        values = [o.value for o in options or []]
        duplicated = sorted({v for v in values if values.count(v) > 1})
        if duplicated:
            raise PydanticCustomError(
                "criterion.options_repeated",
                "option values must be unique: {names} repeated",
                {"names": ", ".join(duplicated), "values": duplicated},
            )
        return options

    @model_validator(mode="after")
    def _options_or_range(self) -> CriterionIn:
        if (self.options is None) == (self.range is None):
            raise PydanticCustomError(
                "criterion.options_or_range",
                "criterion {criterion} needs either options or a range (not both)",
                {"criterion": repr(self.key), "key": self.key},
            )
        return self


class QuestionnaireIn(Request):
    """A full questionnaire definition (a new questionnaire, or the next version of one)."""

    name: str = Field(min_length=1, max_length=200)
    scheme: SchemeIn
    criteria: list[CriterionIn] = Field(min_length=1, max_length=100)

    @field_validator("criteria")
    @classmethod
    def _unique_keys(cls, criteria: list[CriterionIn]) -> list[CriterionIn]:
        keys = [c.key for c in criteria]
        duplicated = sorted({k for k in keys if keys.count(k) > 1})
        if duplicated:
            raise PydanticCustomError(
                "criterion.keys_repeated",
                "criterion keys must be unique: {names} repeated",
                {"names": ", ".join(duplicated), "keys": duplicated},
            )
        return criteria


class GradeOut(BaseModel):
    name: str
    min_score: float
    review_interval_days: int
    care_cadence_days: int


class SchemeOut(BaseModel):
    kind: SchemeKind
    grades: list[GradeOut]


class QuestionnaireOut(BaseModel):
    id: uuid.UUID
    family_id: uuid.UUID
    version: int
    name: str
    scheme: SchemeOut
    criteria: list[dict[str, Any]]
    created_by: uuid.UUID
    created_at: datetime
    superseded_by: uuid.UUID | None
    #: Whether this is the version new assessments use.
    latest: bool


# -- assessments -----------------------------------------------------------------------


class AssessmentIn(Request):
    questionnaire_id: uuid.UUID
    #: criterion key -> option value, or a number for a range criterion.
    answers: dict[str, Any] = Field(max_length=100)


class AssessmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    customer_id: uuid.UUID
    questionnaire_id: uuid.UUID
    questionnaire_family_id: uuid.UUID
    questionnaire_version: int
    answers: dict[str, Any]
    points: dict[str, float]
    score: float
    grade: str
    previous_grade: str | None
    graded_at: datetime
    next_review_on: date
    assessed_by: uuid.UUID


# -- care activities -------------------------------------------------------------------


class ActivityIn(Request):
    kind: ActivityKind
    due_on: date
    note: str | None = Field(default=None, max_length=2000)


class ActivityComplete(Request):
    outcome: str = Field(min_length=1, max_length=2000)
    #: Defaults to today; never in the future.
    done_on: date | None = None


class ActivityCancel(Request):
    reason: Reason


class ActivityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    customer_id: uuid.UUID
    kind: ActivityKind
    status: ActivityStatus
    due_on: date
    note: str | None
    assignee_id: uuid.UUID | None
    created_by: uuid.UUID
    created_at: datetime
    outcome: str | None
    done_on: date | None
    cancel_reason: str | None
    closed_at: datetime | None
    closed_by: uuid.UUID | None


# -- imports ---------------------------------------------------------------------------


class ImportRowOut(BaseModel):
    row: int
    name: str


class ImportDuplicateOut(BaseModel):
    row: int
    matched_on: Literal["phone", "email", "name"]
    #: The existing customer's id, or the number of an earlier row of the same file.
    duplicate_of: uuid.UUID | int


class ImportRejectedOut(BaseModel):
    row: int
    #: "column: what is wrong", one per problem.
    errors: list[str]
    #: The same problems, each with its code and params (absent from imports previewed before codes).
    problems: list[RowProblem] = []


class ImportedOut(BaseModel):
    row: int
    customer_id: uuid.UUID


#: An import's status, written out in each response's schema (the HTTP contract names no type for it).
ImportStatusOut = Literal[ImportStatus.PREVIEWED, ImportStatus.COMMITTED]


class ImportReport(BaseModel):
    id: uuid.UUID
    file_name: str
    status: ImportStatusOut
    uploaded_by: uuid.UUID
    created_at: datetime
    committed_at: datetime | None
    committed_by: uuid.UUID | None
    total_rows: int
    #: Columns of the file that are not imported.
    ignored_columns: list[str]
    to_import: list[ImportRowOut]
    duplicates: list[ImportDuplicateOut]
    rejected: list[ImportRejectedOut]
    #: The customers written, once committed.
    imported: list[ImportedOut]


class ImportSummary(BaseModel):
    id: uuid.UUID
    file_name: str
    status: ImportStatusOut
    uploaded_by: uuid.UUID
    created_at: datetime
    committed_at: datetime | None
    total_rows: int
    to_import: int
    duplicates: int
    rejected: int
    imported: int
