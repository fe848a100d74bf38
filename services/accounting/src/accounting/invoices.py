"""Use cases of invoices: one per order placed, numbered `INV-YYYY-NNNNNN` without
gaps and in date order (an order dated before the series' last invoice is invoiced on
that invoice's day); reading them; and the settlement that payments and credit notes make.

Each runs in the caller's transaction. Locks are always taken in one order (invoice
row, then a number counter, then the account), so two use cases can never wait on
each other in a circle.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm_contracts import InvoiceIssued, MalformedEvent, OrderPlaced
from crm_kit import customer_copy, errors, outbox
from crm_kit.auth import User
from crm_kit.handlers import Transient
from crm_kit.http import PageParams
from crm_kit.queries import fetch_page, visible_to

from . import commitments, domain, ledger
from .domain import CURRENCY
from .filters import where_given
from .models import (
    Account,
    CancelledOrder,
    CreditNote,
    CreditNoteCounter,
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    Payment,
)


async def invoice_order(session: AsyncSession, event: OrderPlaced) -> Invoice | None:
    """Invoice an order once; `Transient` until the customer's account is open.

    The year's counter row stays locked until the transaction ends, so numbers are
    taken one at a time and a rolled-back transaction gives its number back. The
    check for an existing invoice comes after the lock, so a second copy of the
    order (even under another event id, even on another replica) sees the first
    one's invoice and takes no number. An order cancelled before it arrived is not
    invoiced: `cancellations.order_cancelled` takes the same lock before it notes it.
    """
    # An order of a merged customer, sent before sales heard of the merge, is the survivor's.
    event = event.model_copy(update={"customer_id": await customer_copy.survivor(session, event.customer_id)})
    figures = domain.invoice_figures(event)
    if event.currency != CURRENCY:
        raise MalformedEvent(f"order {event.order_number} is in {event.currency}; accounts are in {CURRENCY}")
    account_exists = await session.scalar(
        select(func.count()).select_from(Account).where(Account.customer_id == event.customer_id)
    )
    if not account_exists:
        raise Transient(f"customer {event.customer_id} has no account yet (order {event.order_number})")

    year = event.order_date.year
    last = await lock_counter(session, InvoiceCounter, year)
    if await session.scalar(select(Invoice.id).where(Invoice.order_id == event.order_id)) is not None:
        return None
    if await session.get(CancelledOrder, event.order_id) is not None:
        return None
    seq = await take_number(session, InvoiceCounter, year, last)
    issued_on = max(event.order_date, await _last_issue_date(session, year, last) or event.order_date)

    number = domain.document_number(domain.DocumentSeries.INVOICE, year, seq)
    invoice = _invoice(event, figures, number, issued_on)
    session.add(invoice)
    await session.flush()
    await ledger.post(
        session, invoice, domain.LedgerKind.INVOICE, invoice.id, invoice.issue_date, invoice.total
    )
    await commitments.invoiced(session, event.quote_id, event.customer_id, event.placed_at)
    await outbox.emit(
        session,
        InvoiceIssued(
            invoice_id=invoice.id,
            number=invoice.number,
            order_id=invoice.order_id,
            customer_id=invoice.customer_id,
            total=invoice.total,
            currency=invoice.currency,
            issue_date=invoice.issue_date,
            issued_at=datetime.now(UTC),
        ),
    )
    return invoice


async def _last_issue_date(session: AsyncSession, year: int, last: int) -> date | None:
    """The date of the series' last invoice (by its number; the counter is locked)."""
    if last == 0:
        return None
    number = domain.document_number(domain.DocumentSeries.INVOICE, year, last)
    found: date | None = await session.scalar(select(Invoice.issue_date).where(Invoice.number == number))
    return found


def _invoice(order: OrderPlaced, figures: domain.InvoiceFigures, number: str, issued_on: date) -> Invoice:
    """The invoice of `order`, open for its whole total, dated `issued_on`: its order's
    date, or the series' last invoice's when that is later, so numbers follow dates."""
    return Invoice(
        id=uuid.uuid4(),
        number=number,
        order_id=order.order_id,
        order_number=order.order_number,
        quote_id=order.quote_id,
        customer_id=order.customer_id,
        currency=CURRENCY,
        issue_date=issued_on,
        due_date=domain.due_date(issued_on, order.payment_terms_days),
        payment_terms_days=order.payment_terms_days,
        net_total=figures.net_total,
        vat_total=figures.vat_total,
        total=figures.total,
        paid_total=0,
        credited_total=0,
        balance=figures.total,
        status=domain.invoice_status(figures.total, 0, 0).value,
        lines=[
            # LineFigures' fields are InvoiceLine's columns (but `gross_amount`, a property).
            InvoiceLine(line_no=n, gross_amount=line.gross_amount, **asdict(line))
            for n, line in enumerate(figures.lines, start=1)
        ],
    )


async def lock_counter(
    session: AsyncSession, counter: type[InvoiceCounter | CreditNoteCounter], year: int
) -> int:
    await session.execute(
        insert(counter).values(year=year, last=0).on_conflict_do_nothing(index_elements=["year"])
    )
    last = await session.scalar(select(counter.last).where(counter.year == year).with_for_update())
    assert last is not None  # the row was inserted above or already there
    return last


async def take_number(
    session: AsyncSession, counter: type[InvoiceCounter | CreditNoteCounter], year: int, last: int
) -> int:
    await session.execute(update(counter).where(counter.year == year).values(last=last + 1))
    return last + 1


def _visible_to(stmt: Select[Any], user: User) -> Select[Any]:
    """A salesperson sees the invoices of the customers they own now."""
    if user.sees_all:
        return stmt
    return visible_to(stmt.join(Account, Account.customer_id == Invoice.customer_id), Account.owner_id, user)


@dataclass(frozen=True)
class InvoiceQuery:
    """The invoice list's filters, each None when not given; the issue dates both included."""

    customer_id: uuid.UUID | None = None
    status: domain.InvoiceFilter | None = None
    number: str | None = None
    issued_from: date | None = None
    issued_to: date | None = None


async def list_page(
    session: AsyncSession, user: User, page: PageParams, query: InvoiceQuery, today: date
) -> tuple[list[Invoice], int]:
    """Latest issue date first. `overdue` is an invoice still owing after its due date
    (`today`); a number is found whole or by its beginning (`INV-2026-`)."""
    if query.issued_from and query.issued_to and query.issued_from > query.issued_to:
        raise errors.Invalid(
            f"from {query.issued_from} is after to {query.issued_to}",
            code="dates.from_after_to",
            params={"from_date": query.issued_from, "to_date": query.issued_to},
        )
    stored = None if query.status in (None, domain.InvoiceFilter.OVERDUE) else query.status
    stmt = where_given(
        _visible_to(select(Invoice), user), (Invoice.customer_id, query.customer_id), (Invoice.status, stored)
    )
    if query.status == domain.InvoiceFilter.OVERDUE:
        stmt = stmt.where(Invoice.balance > 0, Invoice.due_date < today)
    if query.number:
        stmt = stmt.where(Invoice.number.startswith(query.number.strip().upper(), autoescape=True))
    if query.issued_from is not None:
        stmt = stmt.where(Invoice.issue_date >= query.issued_from)
    if query.issued_to is not None:
        stmt = stmt.where(Invoice.issue_date <= query.issued_to)
    return await fetch_page(session, stmt, page, Invoice.issue_date.desc(), Invoice.number.desc())


@dataclass(frozen=True)
class InvoiceDetail:
    invoice: Invoice
    payments: list[Payment]
    credit_notes: list[CreditNote]


async def get(session: AsyncSession, invoice_id: uuid.UUID, user: User) -> InvoiceDetail:
    stmt = _visible_to(
        select(Invoice).options(selectinload(Invoice.lines)).where(Invoice.id == invoice_id), user
    )
    invoice = (await session.execute(stmt)).scalar_one_or_none()
    if invoice is None:
        raise errors.NotFound("invoice", invoice_id)
    payments = await session.scalars(
        select(Payment).where(Payment.invoice_id == invoice_id).order_by(Payment.paid_on, Payment.recorded_at)
    )
    notes = await session.scalars(
        select(CreditNote).where(CreditNote.invoice_id == invoice_id).order_by(CreditNote.number)
    )
    return InvoiceDetail(invoice, list(payments), list(notes))


async def for_update(session: AsyncSession, invoice_id: uuid.UUID) -> Invoice:
    """The invoice, locked: the first lock a payment or a credit note takes."""
    invoice = await session.scalar(select(Invoice).where(Invoice.id == invoice_id).with_for_update())
    if invoice is None:
        raise errors.NotFound("invoice", invoice_id)
    return invoice


def settle(invoice: Invoice, amount: int, *, paid: bool) -> None:
    """Lower the invoice's balance by a payment (`paid`) or a credit note; never below zero."""
    domain.check_settlement(amount, invoice.balance, invoice.number)
    invoice.balance -= amount
    if paid:
        invoice.paid_total += amount
    else:
        invoice.credited_total += amount
    invoice.status = domain.invoice_status(invoice.balance, invoice.paid_total, invoice.credited_total).value
