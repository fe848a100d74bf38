from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from crm_kit.text import parse_vn_tax_code

from .domain import ChannelKind, InvoiceStatus, LedgerKind, LimitSource, PaymentMethod

#: Larger than any real invoice, small enough that sums stay exact in a BIGINT.
MAX_AMOUNT = 10**15

Money = Annotated[int, Field(gt=0, le=MAX_AMOUNT, description="integer dong")]
#: A bank transfer's or receipt's own reference.
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class AccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    customer_id: uuid.UUID
    customer_name: str
    owner_id: uuid.UUID | None
    currency: str
    credit_limit: int
    #: `policy`: the credit policy's limit, which follows the customer's grade and channel
    #: kind; `manual`: set by an accountant, and it stays.
    credit_limit_source: LimitSource
    #: The policy gives this customer no credit: every quote on credit fails its check.
    cash_only: bool
    #: The customer's grade as accounting last heard it.
    grade: str | None
    balance: int
    opened_at: datetime
    updated_at: datetime


class AccountDetail(AccountOut):
    """An account with what it owed at the end of `as_of` (today unless asked)."""

    as_of: date
    open_receivables: int
    overdue_receivables: int
    invoices: int
    open_invoices: int
    overdue_invoices: int


Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class AccountUpdate(BaseModel):
    """What an accountant may change on an account; the balance moves only by invoices and
    payments. Either a limit (it is then `manual` and stays) or `follow_policy` (it goes
    back to the policy's limit and follows it), with why."""

    model_config = ConfigDict(extra="forbid")

    credit_limit: int | None = Field(default=None, ge=0, le=MAX_AMOUNT, description="integer dong")
    follow_policy: bool = False
    reason: Reason | None = Field(default=None, description="why, kept in the limit's history")

    @model_validator(mode="after")
    def _one_change(self) -> AccountUpdate:
        if (self.credit_limit is None) == (not self.follow_policy):
            raise PydanticCustomError(
                "credit_limit.limit_or_policy", "give either credit_limit or follow_policy: true", {}
            )
        return self


Grade = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class CreditRuleIn(BaseModel):
    """A rule of the credit policy: customers of this grade (any if none) and channel kind
    (any if none) get this limit, or no credit (`cash_only`). No grade and no kind: the fallback."""

    model_config = ConfigDict(extra="forbid")

    grade: Grade | None = None
    channel_kind: ChannelKind | None = None
    credit_limit: int | None = Field(default=None, ge=0, le=MAX_AMOUNT, description="integer dong")
    cash_only: bool = False

    @model_validator(mode="after")
    def _limit_or_cash(self) -> CreditRuleIn:
        if self.cash_only and self.credit_limit not in (None, 0):
            raise PydanticCustomError(
                "credit_policy.cash_only_with_limit",
                "a cash-only rule has no credit limit (leave it out or 0)",
                {},
            )
        if not self.cash_only and self.credit_limit is None:
            raise PydanticCustomError(
                "credit_policy.limit_or_cash_only", "give a credit_limit, or cash_only: true", {}
            )
        return self


class CreditPolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[CreditRuleIn] = Field(max_length=500)


class CreditRuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    grade: str | None
    channel_kind: str | None
    credit_limit: int
    cash_only: bool


class CreditPolicyOut(BaseModel):
    """The rules, most specific first; `default_credit_limit` applies while there are none."""

    rules: list[CreditRuleOut]
    default_credit_limit: int
    updated_at: datetime | None
    updated_by: uuid.UUID | None


class PolicyApplied(BaseModel):
    """How many accounts following the policy got a new limit."""

    changed: int


class CreditCheckOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    quote_id: uuid.UUID
    quote_number: str
    submission: int
    customer_id: uuid.UUID
    quote_total: int
    open_receivables: int
    #: The customer's other quotes pending approval, approved or sent (until their last
    #: valid day) and accepted ones not invoiced yet.
    committed: int
    #: open_receivables + committed + quote_total.
    exposure: int
    credit_limit: int
    #: The customer had no account yet (a prospect): the policy's limit applied.
    default_limit: bool
    passed: bool
    #: Why it failed when the numbers alone do not say it ("cash only").
    reason: str | None = None
    currency: str
    checked_at: datetime


class InvoiceLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    line_no: int
    product_code: str
    product_name: str
    product_group: str
    unit: str | None = None
    quantity: int
    unit_price: int
    discount_pct: Decimal
    vat_rate_pct: Decimal
    net_amount: int
    vat_amount: int
    gross_amount: int


class InvoiceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str
    order_id: uuid.UUID
    order_number: str
    quote_id: uuid.UUID
    customer_id: uuid.UUID
    #: The customer's name as accounting's account has it (lists fill it in).
    customer_name: str | None = None
    currency: str
    issue_date: date
    due_date: date
    payment_terms_days: int
    net_total: int
    vat_total: int
    total: int
    paid_total: int
    credited_total: int
    balance: int
    status: InvoiceStatus
    #: What the accountant must settle by hand (an order cancelled after payments), or None.
    attention: str | None = None
    created_at: datetime


class PaymentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    invoice_id: uuid.UUID
    customer_id: uuid.UUID
    #: The customer's name as accounting's account has it (lists fill it in).
    customer_name: str | None = None
    amount: int
    paid_on: date
    method: PaymentMethod
    reference: str | None
    recorded_by: uuid.UUID
    recorded_at: datetime


class CreditNoteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str
    invoice_id: uuid.UUID
    customer_id: uuid.UUID
    #: The customer's name as accounting's account has it (lists fill it in).
    customer_name: str | None = None
    amount: int
    reason: str
    issued_on: date
    issued_by: uuid.UUID
    created_at: datetime


class InvoiceDetailOut(InvoiceOut):
    lines: list[InvoiceLineOut]
    payments: list[PaymentOut]
    credit_notes: list[CreditNoteOut]


class PaymentIn(BaseModel):
    """A payment received against one invoice. The balance it lowers is the invoice's own."""

    model_config = ConfigDict(extra="forbid")

    invoice_id: uuid.UUID
    amount: Money
    paid_on: date
    method: PaymentMethod
    reference: Reference | None = None


class CreditNoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Money
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class AgingRowOut(BaseModel):
    customer_id: uuid.UUID
    customer_name: str | None
    current: int
    days_1_30: int
    days_31_60: int
    days_61_90: int
    over_90: int
    total: int


class AgingTotals(BaseModel):
    current: int
    days_1_30: int
    days_31_60: int
    days_61_90: int
    over_90: int
    total: int


class AgingOut(BaseModel):
    """Receivables by days overdue at the end of `as_of`, one row per customer who owed."""

    as_of: date
    items: list[AgingRowOut]
    total: int
    totals: AgingTotals


class LedgerEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    entry_date: date
    customer_id: uuid.UUID
    invoice_id: uuid.UUID
    kind: LedgerKind
    document_id: uuid.UUID
    #: The entry's effect on what the customer owes: + invoiced, - paid or credited.
    amount: int
    currency: str
    reference: str


class LedgerSums(BaseModel):
    invoiced: int
    paid: int
    credited: int


class LedgerOut(BaseModel):
    items: list[LedgerEntryOut]
    total: int
    #: Over every entry that matches, not just this page (payments and credits negative).
    sums: LedgerSums


# -- the company profile (the seller on invoices and e-invoices) -------------------------


def _tax_code(value: str) -> str:
    try:
        return parse_vn_tax_code(value)
    except ValueError as refused:
        raise PydanticCustomError("tax_code.invalid", str(refused), {"tax_code": value}) from None


class CompanyProfileIn(BaseModel):
    """The seller's identity as documents print it. The tax code is checked (check digit)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=300, description="the registered company name")
    address: str = Field(min_length=1, max_length=500)
    tax_code: Annotated[str, Field(max_length=20, examples=["0100233488"]), AfterValidator(_tax_code)]
    phone: str | None = Field(default=None, max_length=40)
    bank_account: str | None = Field(
        default=None, max_length=200, examples=["0071001234567 - Vietcombank, CN Hà Nội"]
    )


class CompanyProfileOut(BaseModel):
    name: str
    address: str | None
    tax_code: str | None
    phone: str | None
    bank_account: str | None
    has_logo: bool
    updated_at: datetime
    updated_by: uuid.UUID | None
