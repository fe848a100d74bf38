"""Events published by the accounting service. Money is integer dong (VND)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from .envelope import Event


class CreditChecked(Event, routing_key="accounting.credit.checked.v1"):
    """Accounting's answer to QuoteSubmittedForApproval: what the customer owes and is
    committed to, plus this quote, against the customer's credit limit (a prospect gets
    the limit accounting's credit policy would give it)."""

    quote_id: uuid.UUID
    submission: int
    customer_id: uuid.UUID
    passed: bool
    #: open_receivables + committed + the quote's total.
    exposure: int
    open_receivables: int
    #: The customer's other quotes pending approval, approved or sent (until their last
    #: valid day), and accepted ones whose order is not invoiced yet.
    committed: int = 0
    credit_limit: int
    currency: str = "VND"
    checked_at: datetime
    #: Why it failed when the numbers alone do not say it: "cash only" (the customer's
    #: credit policy gives no credit). None otherwise.
    reason: str | None = None


class CreditNoteIssued(Event, routing_key="accounting.credit_note.issued.v1"):
    """A credit note corrected an invoice downwards (a return, a price correction).

    Marketing takes its net part off the order's revenue, so market share and target
    attainment count what the customer really bought."""

    credit_note_id: uuid.UUID
    number: str
    invoice_id: uuid.UUID
    order_id: uuid.UUID
    customer_id: uuid.UUID
    #: What the customer owes less, VAT included (integer dong).
    amount: int
    #: The part of `amount` that is revenue: `amount` x the invoice's net / its total.
    net_amount: int
    currency: str = "VND"
    issued_on: date
    issued_at: datetime
    #: Issued because the order was cancelled after it was invoiced (`OrderCancelled`):
    #: the cancellation itself takes the order's revenue off, so this note must not again.
    order_cancelled: bool = False


class InvoiceIssued(Event, routing_key="accounting.invoice.issued.v1"):
    """An order was invoiced: sales records it, and refuses to cancel the order from then on
    (the invoice is credited instead)."""

    invoice_id: uuid.UUID
    number: str
    order_id: uuid.UUID
    customer_id: uuid.UUID
    total: int
    currency: str = "VND"
    issue_date: date
    issued_at: datetime


class CompanyProfileUpdated(Event, routing_key="accounting.company_profile.updated.v1"):
    """The seller's identity as every document a customer receives names it (an admin
    edits it): sales keeps a copy for its quote and order PDFs. Each event carries the
    whole profile, the newest `updated_at` winning."""

    name: str
    address: str | None = None
    #: The seller's Vietnamese tax code (MST), as `crm_kit.text.parse_vn_tax_code` writes it.
    tax_code: str | None = None
    phone: str | None = None
    bank_account: str | None = None
    #: The logo, a PNG of at most 256 KiB, base64-encoded; None when there is none.
    logo_png_base64: str | None = None
    updated_at: datetime
