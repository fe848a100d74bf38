from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from crm_kit.text import parse_vn_tax_code

from .domain import InvoiceStatus, LedgerKind, PaymentMethod

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


class AccountUpdate(BaseModel):
    """What an accountant may change on an account; the balance moves only by invoices and payments."""

    model_config = ConfigDict(extra="forbid")

    credit_limit: int = Field(ge=0, le=MAX_AMOUNT, description="integer dong")


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
    #: The customer had no account yet (a prospect): the default limit applied.
    default_limit: bool
    passed: bool
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
    return parse_vn_tax_code(value)


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
