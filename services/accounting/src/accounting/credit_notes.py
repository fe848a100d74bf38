"""Use cases of credit notes: a correction of an invoice downwards, never more than it
still owes, and the notes issued.

Each runs in the caller's transaction, taking its locks in the order `invoices` gives.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import CreditNoteIssued
from crm_kit import outbox
from crm_kit.auth import User
from crm_kit.http import PageParams
from crm_kit.queries import fetch_page

from . import domain, invoices, ledger
from .filters import where_given
from .models import CreditNote, CreditNoteCounter, Invoice


async def issue(
    session: AsyncSession, invoice_id: uuid.UUID, amount: int, reason: str, user: User, today: date
) -> CreditNote:
    """A credit note corrects an invoice downwards, numbered `CN-YYYY-NNNNNN` without gaps;
    announced (`CreditNoteIssued`) with its net part, which marketing takes off revenue."""
    invoice = await invoices.for_update(session, invoice_id)
    return await issue_on(session, invoice, amount, reason, user.id, today)


async def issue_on(
    session: AsyncSession,
    invoice: Invoice,
    amount: int,
    reason: str,
    issued_by: uuid.UUID,
    today: date,
    *,
    order_cancelled: bool = False,
) -> CreditNote:
    """The credit note of `invoice`, locked by the caller. `order_cancelled` says the note
    answers the order's cancellation, which takes the revenue off by itself."""
    invoices.settle(invoice, amount, paid=False)
    last = await invoices.lock_counter(session, CreditNoteCounter, today.year)
    seq = await invoices.take_number(session, CreditNoteCounter, today.year, last)
    note = CreditNote(
        id=uuid.uuid4(),
        number=domain.document_number(domain.DocumentSeries.CREDIT_NOTE, today.year, seq),
        invoice_id=invoice.id,
        customer_id=invoice.customer_id,
        amount=amount,
        reason=reason,
        issued_on=today,
        issued_by=issued_by,
    )
    session.add(note)
    await session.flush()
    await ledger.post(session, invoice, domain.LedgerKind.CREDIT_NOTE, note.id, today, -amount, note.number)
    await outbox.emit(
        session,
        CreditNoteIssued(
            credit_note_id=note.id,
            number=note.number,
            invoice_id=invoice.id,
            order_id=invoice.order_id,
            customer_id=invoice.customer_id,
            amount=amount,
            net_amount=domain.net_part(amount, invoice.net_total, invoice.total),
            currency=invoice.currency,
            issued_on=today,
            issued_at=datetime.now(UTC),
            order_cancelled=order_cancelled,
        ),
        actor=issued_by,
    )
    return note


async def list_page(
    session: AsyncSession,
    page: PageParams,
    *,
    invoice_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
) -> tuple[list[CreditNote], int]:
    stmt = where_given(
        select(CreditNote), (CreditNote.invoice_id, invoice_id), (CreditNote.customer_id, customer_id)
    )
    return await fetch_page(session, stmt, page, CreditNote.number.desc())
