"""Use cases of payments: money received against one invoice, never more than it still
owes, and the payments recorded.

Each runs in the caller's transaction, taking its locks in the order `invoices` gives.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_kit import errors
from crm_kit.auth import User
from crm_kit.http import PageParams
from crm_kit.queries import fetch_page

from . import domain, invoices, ledger
from .filters import where_given
from .models import Payment


@dataclass(frozen=True)
class PaymentRequest:
    invoice_id: uuid.UUID
    amount: int
    paid_on: date
    method: domain.PaymentMethod
    reference: str | None


async def record(session: AsyncSession, request: PaymentRequest, user: User, today: date) -> Payment:
    """A payment lowers the invoice's balance and the account's; never more than is owed."""
    invoice = await invoices.for_update(session, request.invoice_id)
    if request.paid_on > today:
        raise errors.Invalid(
            f"paid_on {request.paid_on} is in the future",
            code="payment.paid_on_future",
            params={"paid_on": request.paid_on},
        )
    if request.paid_on < invoice.issue_date:
        raise errors.Invalid(
            f"paid_on {request.paid_on} is before invoice {invoice.number} was issued ({invoice.issue_date})",
            code="payment.before_issue",
            params={
                "paid_on": request.paid_on,
                "invoice_number": invoice.number,
                "issue_date": invoice.issue_date,
            },
        )
    invoices.settle(invoice, request.amount, paid=True)
    payment = Payment(
        id=uuid.uuid4(),
        invoice_id=invoice.id,
        customer_id=invoice.customer_id,
        amount=request.amount,
        paid_on=request.paid_on,
        method=request.method.value,
        reference=request.reference,
        recorded_by=user.id,
    )
    session.add(payment)
    await session.flush()
    reference = f"{invoice.number} {request.reference}" if request.reference else invoice.number
    await ledger.post(
        session, invoice, domain.LedgerKind.PAYMENT, payment.id, payment.paid_on, -payment.amount, reference
    )
    return payment


async def list_page(
    session: AsyncSession,
    page: PageParams,
    *,
    invoice_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
) -> tuple[list[Payment], int]:
    stmt = where_given(select(Payment), (Payment.invoice_id, invoice_id), (Payment.customer_id, customer_id))
    return await fetch_page(
        session, stmt, page, Payment.paid_on.desc(), Payment.recorded_at.desc(), Payment.id
    )
