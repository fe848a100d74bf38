"""Events published by the sales service. Money is integer dong (VND)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

from .envelope import Event


class QuoteSubmittedForApproval(Event, routing_key="sales.quote.submitted_for_approval.v1"):
    """A quote waits for a manager; accounting checks the customer's credit against it.

    `submission` counts the quote's submissions, so a CreditChecked answer is matched
    to the submission it was made for (an edited and resubmitted quote is checked again).
    """

    quote_id: uuid.UUID
    quote_number: str
    submission: int
    customer_id: uuid.UUID
    customer_name: str
    owner_id: uuid.UUID
    total: int
    currency: str = "VND"
    submitted_at: datetime
    #: False when the approval rules let a passed credit check approve it without a manager.
    needs_manager: bool = True
    #: The last day the quote may be accepted; it commits the customer's credit until then
    #: (None from a sales version that did not say).
    valid_until: date | None = None


class QuoteApproved(Event, routing_key="sales.quote.approved.v1"):
    """The quote was approved and may now be sent to the customer: by a sales manager,
    or automatically when the approval rules did not require one and credit passed."""

    quote_id: uuid.UUID
    quote_number: str
    customer_id: uuid.UUID
    owner_id: uuid.UUID
    #: The manager who approved; None when `automatic`.
    approved_by: uuid.UUID | None = None
    #: The approver's role when they approved: `sales_manager`, or `admin` acting as the
    #: approver; None when `automatic`.
    approved_as: str | None = None
    automatic: bool = False
    total: int
    currency: str = "VND"
    #: Set when the manager approved although the credit check failed.
    override_reason: str | None = None
    approved_at: datetime


class QuoteRejected(Event, routing_key="sales.quote.rejected.v1"):
    """A sales manager rejected the quote with a reason; it can be revised and resubmitted."""

    quote_id: uuid.UUID
    quote_number: str
    customer_id: uuid.UUID
    owner_id: uuid.UUID
    rejected_by: uuid.UUID
    reason: str
    rejected_at: datetime


class QuoteDeclined(Event, routing_key="sales.quote.declined.v1"):
    """The customer declined a sent quote: it no longer commits the customer's credit."""

    quote_id: uuid.UUID
    quote_number: str
    customer_id: uuid.UUID
    owner_id: uuid.UUID
    reason: str | None = None
    declined_at: datetime


class QuoteReopened(Event, routing_key="sales.quote.reopened.v1"):
    """A submitted, approved or rejected quote was edited and is a draft again: it no
    longer commits the customer's credit until it is submitted again."""

    quote_id: uuid.UUID
    quote_number: str
    customer_id: uuid.UUID
    owner_id: uuid.UUID
    #: The status it left.
    previous_status: str
    reopened_at: datetime


class QuoteSent(Event, routing_key="sales.quote.sent.v1"):
    """The approved quote went to the customer: customers notes it on the customer's
    timeline with a link to the document the customer received."""

    quote_id: uuid.UUID
    quote_number: str
    customer_id: uuid.UUID
    owner_id: uuid.UUID
    total: int
    currency: str = "VND"
    valid_until: date
    sent_at: datetime
    #: The quote's PDF at the gateway (`GET` it with a token that may read the quote).
    document_path: str


class QuoteAccepted(Event, routing_key="sales.quote.accepted.v1"):
    """The customer accepted the quote: customers promotes a prospect to traditional,
    and sales places the order once the customer is traditional in its own records."""

    quote_id: uuid.UUID
    quote_number: str
    customer_id: uuid.UUID
    opportunity_id: uuid.UUID | None = None
    owner_id: uuid.UUID
    total: int
    currency: str = "VND"
    accepted_at: datetime


class ProductGroupChanged(Event, routing_key="sales.product_group.changed.v1"):
    """A product group of the price list was added or changed (its name, retired or back).

    Sales keeps the list: a product belongs to one of its groups, and `code` is what order
    lines carry as `product_group`. It carries every field, changed or not, so the newest
    event alone says what a copy should hold; a copy holding a newer `changed_at` ignores
    it. Marketing keeps the groups it may estimate market volumes and set targets for.
    """

    code: str
    name: str
    active: bool
    changed_at: datetime


class OrderLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    product_code: str
    product_name: str
    product_group: str
    #: The product's unit (đơn vị tính: `cái`, `bộ`); None when sales has none for it.
    unit: str | None = None
    quantity: int
    unit_price: int
    discount_pct: float
    #: VAT rate of the product, in percent (e.g. 8 or 10).
    vat_rate_pct: float
    #: quantity x unit price less the discount, before VAT.
    net_amount: int
    vat_amount: int


class OrderPlaced(Event, routing_key="sales.order.placed.v1"):
    """An order was placed from an accepted quote: accounting invoices it, marketing adds
    its revenue to the region x channel figures, customers records the purchase."""

    order_id: uuid.UUID
    order_number: str
    quote_id: uuid.UUID
    customer_id: uuid.UUID
    owner_id: uuid.UUID
    region_code: str | None = None
    channel_id: uuid.UUID | None = None
    lines: list[OrderLine]
    net_total: int
    vat_total: int
    total: int
    currency: str = "VND"
    payment_terms_days: int = 30
    placed_at: datetime
    order_date: date


class OrderCancelled(Event, routing_key="sales.order.cancelled.v1"):
    """An order was cancelled before sales heard it was invoiced. Accounting does not
    invoice it (or, when its invoice crossed the cancellation, credits it in full);
    marketing and performance take its revenue off. It carries what `OrderPlaced` did,
    so a consumer that has not seen the order yet can keep the cancellation first."""

    order_id: uuid.UUID
    order_number: str
    quote_id: uuid.UUID
    customer_id: uuid.UUID
    owner_id: uuid.UUID
    region_code: str | None = None
    channel_id: uuid.UUID | None = None
    lines: list[OrderLine]
    net_total: int
    total: int
    currency: str = "VND"
    order_date: date
    placed_at: datetime
    reason: str
    cancelled_by: uuid.UUID
    cancelled_at: datetime
