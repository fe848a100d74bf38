"""Events published by the accounting service. Money is integer dong (VND)."""

from __future__ import annotations

import uuid
from datetime import datetime

from .envelope import Event


class CreditChecked(Event, routing_key="accounting.credit.checked.v1"):
    """Accounting's answer to QuoteSubmittedForApproval: open receivables plus this
    quote against the customer's credit limit (a prospect gets the default limit)."""

    quote_id: uuid.UUID
    submission: int
    customer_id: uuid.UUID
    passed: bool
    #: Open receivables + the quote's total.
    exposure: int
    open_receivables: int
    credit_limit: int
    currency: str = "VND"
    checked_at: datetime
