"""Request and response models of the deals: opportunities, approval rules, quotes, orders
and contracts (the catalogue's are in `catalogue_schemas`). Requests forbid unknown fields:
status, totals, owner and approval change only through their own operations, never
through a body."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from . import domain

Text200 = Annotated[str, Field(min_length=1, max_length=200)]
Money = Annotated[int, Field(ge=0, le=10**12)]
DiscountPct = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]
VatRate = Literal[0, 5, 8, 10]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Response(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class AuditOut(Response):
    """An entry of the audit trail: who did what, when."""

    entity: str
    entity_id: uuid.UUID
    action: str
    actor_id: uuid.UUID | None
    changes: dict[str, Any]
    at: datetime


# -- customers -----------------------------------------------------------------------


class SalesCustomerOut(Response):
    id: uuid.UUID
    name: str
    lifecycle_stage: str
    grade: str | None
    owner_id: uuid.UUID | None
    region_code: str | None
    channel_id: uuid.UUID | None
    registered_at: datetime | None
    promoted_at: datetime | None
    opened_at: datetime | None


# -- opportunities -------------------------------------------------------------------


class OpportunityOut(Response):
    id: uuid.UUID
    name: str
    customer_id: uuid.UUID
    #: The customer's name as sales knows it (None while its registration is on its way).
    customer_name: str | None = None
    lead_id: uuid.UUID | None
    owner_id: uuid.UUID
    expected_amount: int
    expected_close_on: date | None = None
    currency: str = domain.CURRENCY
    stage: domain.OpportunityStage
    probability_pct: int
    lost_reason: str | None
    won_quote_id: uuid.UUID | None
    stage_changed_at: datetime
    closed_at: datetime | None
    created_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _probability(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return data
        values = {name: getattr(data, name) for name in cls.model_fields if hasattr(data, name)}
        values["probability_pct"] = domain.STAGE_PROBABILITY_PCT[domain.OpportunityStage(data.stage)]
        return values


class OpportunityCreate(Request):
    """Repeat business: an opportunity for a customer sales knows, without a lead."""

    customer_id: uuid.UUID
    name: Annotated[str, Field(min_length=1, max_length=200)]
    expected_amount: Money = 0
    expected_close_on: date | None = None


class ForecastMonth(BaseModel):
    #: The first day of the month the opportunities are expected to close in.
    month: date
    count: int
    amount: int
    weighted_amount: int


class Forecast(BaseModel):
    """Open opportunities by the month they are expected to close in (those without a
    date are counted apart)."""

    currency: str = domain.CURRENCY
    months: list[ForecastMonth]
    undated_count: int
    undated_amount: int


class StageMove(Request):
    stage: domain.OpportunityStage
    lost_reason: Annotated[str, Field(min_length=1, max_length=1000)] | None = None


class PipelineStage(BaseModel):
    stage: domain.OpportunityStage
    probability_pct: int
    count: int
    amount: int
    weighted_amount: int


class Pipeline(BaseModel):
    currency: str = domain.CURRENCY
    stages: list[PipelineStage]
    #: Open stages only (not won, not lost).
    open_count: int
    open_amount: int
    weighted_total: int


# -- approval rules ------------------------------------------------------------------


class ApprovalRulesIn(Request):
    mode: domain.ApprovalMode
    min_total: Money | None = None
    max_discount_pct: DiscountPct | None = None
    max_below_level_pct: DiscountPct | None = None
    #: Quotes of at least this total need two approvers (or an admin alone), in either mode.
    second_approval_min_total: Money | None = None


class ApprovalRulesOut(Response):
    mode: domain.ApprovalMode
    min_total: int | None
    max_discount_pct: Decimal | None
    max_below_level_pct: Decimal | None
    second_approval_min_total: int | None = None
    updated_by: uuid.UUID | None
    updated_at: datetime


# -- quotes --------------------------------------------------------------------------


class QuoteLineIn(Request):
    product_code: Annotated[str, Field(min_length=1, max_length=40)]
    quantity: Annotated[int, Field(gt=0, le=1_000_000)]
    #: Defaults to the price of the price list that applies to the customer today, else
    #: the product's current list price.
    unit_price: Money | None = None
    discount_pct: DiscountPct = Decimal(0)

    @field_validator("product_code")
    @classmethod
    def _code(cls, value: str) -> str:
        return value.strip().upper()


Lines = Annotated[list[QuoteLineIn], Field(min_length=1, max_length=200)]


class QuoteCreate(Request):
    customer_id: uuid.UUID
    opportunity_id: uuid.UUID | None = None
    #: Defaults to 30 days from today.
    valid_until: date | None = None
    lines: Lines
    note: Annotated[str, Field(max_length=4000)] | None = None


class QuoteUpdate(Request):
    lines: Lines | None = None
    valid_until: date | None = None
    note: Annotated[str, Field(max_length=4000)] | None = None

    @model_validator(mode="after")
    def _something(self) -> QuoteUpdate:
        if not self.model_fields_set:
            raise PydanticCustomError(
                "request.nothing_to_change", "nothing to change: give lines, valid_until or note", {}
            )
        for name in ("lines", "valid_until"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise PydanticCustomError("request.field_null", "{field} cannot be null", {"field": name})
        return self


class ApproveIn(Request):
    override_reason: Annotated[str, Field(min_length=1, max_length=1000)] | None = None


class RejectIn(Request):
    reason: Annotated[str, Field(min_length=1, max_length=1000)]


class DeclineIn(Request):
    reason: Annotated[str, Field(min_length=1, max_length=1000)] | None = None


class _LineOut(Response):
    """What a quote line and an order line both show first: the product and its price."""

    position: int
    product_code: str
    product_name: str
    product_group: str
    unit: str | None = None
    quantity: int
    unit_price: int
    discount_pct: Decimal
    vat_rate_pct: int
    #: `list_price`, `price_list` (then `price_list_id` names it) or `manual`; null on lines
    #: made before price levels.
    price_source: domain.PriceSource | None
    price_list_id: uuid.UUID | None
    #: The unit price the line takes when none is given; approval measures "below its level" from it.
    level_price: int | None


class QuoteLineOut(_LineOut):
    gross_amount: int
    discount_amount: int
    net_amount: int
    vat_amount: int
    total: int


class CreditCheckOut(BaseModel):
    status: domain.CreditStatus
    #: open_receivables + committed + the quote's total.
    exposure: int | None
    open_receivables: int | None
    #: The customer's other quotes in flight and orders not invoiced yet, when checked.
    committed: int | None = None
    credit_limit: int | None
    checked_at: datetime | None


class QuoteOut(Response):
    id: uuid.UUID
    number: str
    customer_id: uuid.UUID
    customer_name: str
    opportunity_id: uuid.UUID | None
    owner_id: uuid.UUID
    status: domain.QuoteStatus
    valid_until: date
    note: str | None
    currency: str
    lines: list[QuoteLineOut]
    net_total: int
    vat_total: int
    total: int
    submission: int
    submitted_at: datetime | None
    needs_manager: bool | None
    credit_check: CreditCheckOut | None
    approval_mode: str | None
    approved_by: uuid.UUID | None
    #: The approver's role: `sales_manager`, or `admin` acting as the approver; null when automatic.
    approved_as: str | None = None
    #: Two approvers decide (the rules' `second_approval_min_total`); the first one's approval.
    needs_second_approver: bool | None = None
    first_approved_by: uuid.UUID | None = None
    first_approved_at: datetime | None = None
    approved_at: datetime | None
    override_reason: str | None
    rejected_by: uuid.UUID | None
    rejected_at: datetime | None
    rejection_reason: str | None
    sent_at: datetime | None
    accepted_at: datetime | None
    declined_at: datetime | None
    decline_reason: str | None
    expired_at: datetime | None
    copied_from_id: uuid.UUID | None
    created_by: uuid.UUID
    created_at: datetime
    updated_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _credit_check(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return data
        values = {name: getattr(data, name) for name in cls.model_fields if hasattr(data, name)}
        values["credit_check"] = (
            None
            if data.credit_status is None
            else CreditCheckOut(
                status=data.credit_status,
                exposure=data.credit_exposure,
                open_receivables=data.credit_open_receivables,
                committed=data.credit_committed,
                credit_limit=data.credit_limit,
                checked_at=data.credit_checked_at,
            )
        )
        return values


class ExpiredOut(BaseModel):
    expired: int


# -- orders and contracts ------------------------------------------------------------


class OrderLineOut(_LineOut):
    net_amount: int
    vat_amount: int
    total: int


class OrderOut(Response):
    id: uuid.UUID
    number: str
    quote_id: uuid.UUID
    customer_id: uuid.UUID
    customer_name: str
    opportunity_id: uuid.UUID | None
    owner_id: uuid.UUID
    region_code: str | None
    channel_id: uuid.UUID | None
    currency: str
    lines: list[OrderLineOut]
    net_total: int
    vat_total: int
    total: int
    status: str
    needs_contract: bool
    payment_terms_days: int
    order_date: date
    placed_at: datetime
    invoice_id: uuid.UUID | None = None
    invoice_number: str | None = None
    cancelled_at: datetime | None = None
    cancelled_by: uuid.UUID | None = None
    cancel_reason: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def cancellable(self) -> bool:
        """Whether it may be cancelled now: placed, and not invoiced as far as sales knows."""
        return domain.cancel_refusal(self.status, self.number, self.invoice_number) is None


class OrderCancel(Request):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class ContractCreate(Request):
    starts_on: date
    ends_on: date
    terms: Annotated[str, Field(min_length=1, max_length=20000)]

    @model_validator(mode="after")
    def _dates(self) -> ContractCreate:
        if self.ends_on < self.starts_on:
            raise PydanticCustomError("contract.ends_before_start", "ends_on cannot be before starts_on", {})
        return self


class TerminateIn(Request):
    reason: Annotated[str, Field(min_length=1, max_length=1000)]


class ContractOut(Response):
    id: uuid.UUID
    number: str
    order_id: uuid.UUID
    customer_id: uuid.UUID
    owner_id: uuid.UUID
    status: domain.ContractStatus
    starts_on: date
    ends_on: date
    terms: str
    signed_at: datetime | None
    completed_at: datetime | None
    terminated_at: datetime | None
    termination_reason: str | None
    created_by: uuid.UUID
    created_at: datetime
