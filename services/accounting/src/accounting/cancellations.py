"""Orders sales cancelled (`OrderCancelled`), whatever the order of arrival: before the
order reached accounting, it is never invoiced; after its invoice crossed the cancellation
(sales had not heard of it yet), the invoice is credited in full, or, when it has payments,
flagged for the accountant, who refunds or settles it by hand. Either way the quote's credit
commitment ends.

Runs in the caller's transaction. It takes the invoice series' lock of the order's year
first, as `invoices.invoice_order` does, so an order and its cancellation handled at once
(two replicas) see each other; then the invoice row, then the credit note counter, the
order `invoices` gives.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import OrderCancelled
from crm_kit import customer_copy

from . import commitments, credit_notes, domain, invoices
from .domain import CancellationOutcome, Commitment
from .models import CancelledOrder, Invoice, InvoiceCounter


async def order_cancelled(
    session: AsyncSession, event: OrderCancelled, today: date
) -> CancellationOutcome | None:
    """Keep the cancellation once (None when it was kept before), then settle its invoice."""
    customer_id = await customer_copy.survivor(session, event.customer_id)
    await invoices.lock_counter(session, InvoiceCounter, event.order_date.year)
    kept = await session.execute(
        insert(CancelledOrder)
        .values(
            order_id=event.order_id,
            order_number=event.order_number[:50],
            customer_id=customer_id,
            reason=event.reason[:500],
            cancelled_by=event.cancelled_by,
            cancelled_at=event.cancelled_at,
            outcome=CancellationOutcome.NOT_INVOICED,
        )
        .on_conflict_do_nothing(index_elements=[CancelledOrder.order_id])
        .returning(CancelledOrder.order_id)
    )
    if kept.scalar_one_or_none() is None:
        return None
    await commitments.record(session, event.quote_id, customer_id, Commitment.CLOSED, event.cancelled_at)
    invoice = await session.scalar(
        select(Invoice).where(Invoice.order_id == event.order_id).with_for_update()
    )
    if invoice is None:
        return CancellationOutcome.NOT_INVOICED
    outcome = await _settle(session, invoice, event, today)
    cancellation = await session.get(CancelledOrder, event.order_id)
    assert cancellation is not None  # inserted above
    cancellation.outcome, cancellation.invoice_id = outcome, invoice.id
    return outcome


async def _settle(
    session: AsyncSession, invoice: Invoice, event: OrderCancelled, today: date
) -> CancellationOutcome:
    if invoice.paid_total > 0:
        invoice.attention = domain.cancellation_attention(
            event.order_number, event.reason, invoice.paid_total
        )
        return CancellationOutcome.NEEDS_ACCOUNTANT
    if invoice.balance > 0:
        reason = f"order {event.order_number} cancelled: {event.reason}"[:500]
        await credit_notes.issue_on(
            session, invoice, invoice.balance, reason, event.cancelled_by, today, order_cancelled=True
        )
    return CancellationOutcome.CREDITED
