"""Use cases of accounting; each runs in the caller's transaction.

Locks are always taken in one order (invoice row, then a number counter, then the
account), so two use cases can never wait on each other in a circle.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Select, case, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm_contracts import (
    CreditChecked,
    CustomerPromotedToTraditional,
    CustomerReassigned,
    CustomerUpdated,
    Envelope,
    MalformedEvent,
    OrderPlaced,
    QuoteSubmittedForApproval,
)
from crm_kit import errors, outbox, ownership
from crm_kit.auth import User
from crm_kit.db import table_of
from crm_kit.handlers import Transient
from crm_kit.http import PageParams
from crm_kit.queries import fetch_page, one_visible, visible_to

from . import domain
from .models import (
    Account,
    CreditCheck,
    CreditNote,
    CreditNoteCounter,
    CustomerName,
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    LedgerEntry,
    Payment,
)

CURRENCY = "VND"


# -- accounts --------------------------------------------------------------------------


async def open_accounts(
    session: AsyncSession, events: Sequence[CustomerPromotedToTraditional], default_credit_limit: int
) -> None:
    """Open each promoted customer's account once; a second promotion leaves it as it is.

    Set-based (two statements however many promotions arrived together): accounts are
    opened where a promotion arrives, so this is accounting's busiest path.
    """
    if not events:
        return
    owners = await ownership.record_owners(
        session, [(event.customer_id, event.owner_id, event.promoted_at) for event in events]
    )
    # The newest name: an edit may have overtaken the promotion. An open account takes
    # later names from the edits (`customer_updated`), never from another promotion.
    names = await record_names(
        session, [(event.customer_id, event.name, event.promoted_at) for event in events]
    )
    await session.execute(
        _OPEN_ACCOUNTS,
        [
            {
                "customer_id": customer_id,
                "customer_name": names[customer_id],
                "owner_id": owners[customer_id],
                "currency": CURRENCY,
                "credit_limit": default_credit_limit,
                "balance": 0,
            }
            for customer_id in sorted(owners)
        ],
    )


#: Opens accounts; a customer's second promotion leaves its account as it is. Built once,
#: on the table (`table_of`), like the other hot statements.
_OPEN_ACCOUNTS = insert(table_of(Account)).on_conflict_do_nothing(index_elements=["customer_id"])


def _record_names_statement() -> Any:
    stmt = insert(table_of(CustomerName))
    current = table_of(CustomerName).c
    newer = current.as_of < stmt.excluded.as_of
    return stmt.on_conflict_do_update(
        index_elements=[current.customer_id],
        set_={
            "name": case((newer, stmt.excluded.name), else_=current.name),
            "as_of": func.greatest(current.as_of, stmt.excluded.as_of),
        },
    ).returning(current.customer_id, current.name)


#: Built once; its rows come with each call.
_RECORD_NAMES = _record_names_statement()


async def record_names(
    session: AsyncSession, facts: Iterable[tuple[uuid.UUID, str, datetime]]
) -> dict[uuid.UUID, str]:
    """Record `(customer_id, name, as_of)` facts, keeping the newest of each customer by the
    customers service's time (like `ownership.record_owners`); the newest name of each."""
    newest: dict[uuid.UUID, tuple[str, datetime]] = {}
    for customer_id, name, as_of in facts:
        if customer_id not in newest or newest[customer_id][1] < as_of:
            newest[customer_id] = (name, as_of)
    if not newest:
        return {}
    rows = [
        {"customer_id": customer_id, "name": name, "as_of": as_of}
        for customer_id, (name, as_of) in sorted(newest.items())
    ]
    return {row.customer_id: row.name for row in await session.execute(_RECORD_NAMES, rows)}


async def customer_updated(session: AsyncSession, event: CustomerUpdated) -> None:
    """The account takes the customer's new name, unless a newer one is known; the name of a
    customer without an account yet (a prospect) waits for its opening."""
    names = await record_names(session, [(event.customer_id, event.name, event.updated_at)])
    await session.execute(
        update(Account)
        .where(Account.customer_id == event.customer_id)
        .values(customer_name=names[event.customer_id])
    )


async def get_visible(
    session: AsyncSession, customer_id: uuid.UUID, user: User, *, for_update: bool = False
) -> Account:
    account = await one_visible(
        session, select(Account).where(Account.customer_id == customer_id), user, lock=for_update
    )
    if account is None:
        raise errors.NotFound("account of customer", customer_id)
    return account


async def list_visible(session: AsyncSession, user: User, page: PageParams) -> tuple[list[Account], int]:
    stmt = visible_to(select(Account), Account.owner_id, user)
    return await fetch_page(session, stmt, page, Account.opened_at.desc(), Account.customer_id)


async def set_credit_limit(
    session: AsyncSession, customer_id: uuid.UUID, credit_limit: int, user: User
) -> Account:
    account = await get_visible(session, customer_id, user, for_update=True)
    account.credit_limit = credit_limit
    await session.flush()
    return account


async def customer_reassigned(session: AsyncSession, event: CustomerReassigned) -> None:
    """The account's owner follows the customer's, whichever event came first."""
    owner_id = await ownership.record_owner(
        session, event.customer_id, event.to_owner_id, event.reassigned_at
    )
    await session.execute(
        update(Account).where(Account.customer_id == event.customer_id).values(owner_id=owner_id)
    )


async def holdings(session: AsyncSession, user_id: uuid.UUID) -> dict[str, int]:
    count = await session.scalar(select(func.count()).where(Account.owner_id == user_id))
    return {"accounts": int(count or 0)}


@dataclass(frozen=True)
class Receivables:
    as_of: date
    open_receivables: int
    overdue_receivables: int
    invoices: int
    open_invoices: int
    overdue_invoices: int


async def receivables_of(session: AsyncSession, customer_id: uuid.UUID, as_of: date) -> Receivables:
    """What the customer owed at the end of `as_of`, and how much of it was overdue."""
    items = await open_items(session, as_of, customer_id=customer_id)
    overdue = [i for i in items if domain.days_overdue(i.due_date, as_of) > 0]
    issued = await session.scalar(
        select(func.count())
        .select_from(Invoice)
        .where(Invoice.customer_id == customer_id, Invoice.issue_date <= as_of)
    )
    return Receivables(
        as_of=as_of,
        open_receivables=sum(i.balance for i in items),
        overdue_receivables=sum(i.balance for i in overdue),
        invoices=int(issued or 0),
        open_invoices=len(items),
        overdue_invoices=len(overdue),
    )


async def open_items(
    session: AsyncSession, as_of: date, *, customer_id: uuid.UUID | None = None
) -> list[domain.OpenItem]:
    """Every invoice that still owed something at the end of `as_of`, from the ledger,
    so a past day's figures are what they were then, not what they are now."""
    owed = select(LedgerEntry.invoice_id, func.sum(LedgerEntry.amount).label("owed")).where(
        LedgerEntry.entry_date <= as_of
    )
    if customer_id is not None:
        owed = owed.where(LedgerEntry.customer_id == customer_id)
    owed_sq = owed.group_by(LedgerEntry.invoice_id).subquery()
    rows = await session.execute(
        select(Invoice.customer_id, Invoice.due_date, owed_sq.c.owed)
        .join(owed_sq, owed_sq.c.invoice_id == Invoice.id)
        .where(owed_sq.c.owed > 0)
    )
    return [domain.OpenItem(r.customer_id, r.due_date, int(r.owed)) for r in rows]


# -- credit checks ---------------------------------------------------------------------


async def check_credit(
    session: AsyncSession,
    event: QuoteSubmittedForApproval,
    envelope: Envelope,
    default_credit_limit: int,
) -> None:
    """Answer one submission of a quote once: the same submission again (a redelivery
    under another event id) finds the stored answer and emits nothing more."""
    if event.currency != CURRENCY:
        raise MalformedEvent(f"quote {event.quote_number} is in {event.currency}; accounts are in {CURRENCY}")
    if event.total < 0:
        raise MalformedEvent(f"quote {event.quote_number} has a negative total")
    account = await session.get(Account, event.customer_id)
    credit_limit = account.credit_limit if account is not None else default_credit_limit
    decision = domain.credit_decision(
        await open_receivables(session, event.customer_id), event.total, credit_limit
    )
    checked_at = datetime.now(UTC)
    stored = await session.execute(
        insert(CreditCheck)
        .values(
            id=uuid.uuid4(),
            quote_id=event.quote_id,
            quote_number=event.quote_number,
            submission=event.submission,
            customer_id=event.customer_id,
            quote_owner_id=event.owner_id,
            quote_total=event.total,
            open_receivables=decision.open_receivables,
            exposure=decision.exposure,
            credit_limit=decision.credit_limit,
            default_limit=account is None,
            passed=decision.passed,
            currency=CURRENCY,
            checked_at=checked_at,
        )
        .on_conflict_do_nothing(constraint="uq_credit_checks_submission")
        .returning(CreditCheck.id)
    )
    if stored.first() is None:
        return
    await outbox.emit(
        session,
        CreditChecked(
            quote_id=event.quote_id,
            submission=event.submission,
            customer_id=event.customer_id,
            passed=decision.passed,
            exposure=decision.exposure,
            open_receivables=decision.open_receivables,
            credit_limit=decision.credit_limit,
            currency=CURRENCY,
            checked_at=checked_at,
        ),
        actor=envelope.actor,
    )


async def open_receivables(session: AsyncSession, customer_id: uuid.UUID) -> int:
    """What the customer owes now: the unpaid balances of their invoices."""
    owed = await session.scalar(
        select(func.coalesce(func.sum(Invoice.balance), 0)).where(
            Invoice.customer_id == customer_id, Invoice.balance > 0
        )
    )
    return int(owed or 0)


async def list_credit_checks(
    session: AsyncSession,
    page: PageParams,
    *,
    customer_id: uuid.UUID | None = None,
    quote_id: uuid.UUID | None = None,
) -> tuple[list[CreditCheck], int]:
    stmt = select(CreditCheck)
    if customer_id is not None:
        stmt = stmt.where(CreditCheck.customer_id == customer_id)
    if quote_id is not None:
        stmt = stmt.where(CreditCheck.quote_id == quote_id)
    return await fetch_page(session, stmt, page, CreditCheck.checked_at.desc(), CreditCheck.id)


# -- invoices --------------------------------------------------------------------------


async def invoice_order(session: AsyncSession, event: OrderPlaced) -> Invoice | None:
    """Invoice an order once; `Transient` until the customer's account is open.

    The year's counter row stays locked until the transaction ends, so numbers are
    taken one at a time and a rolled-back transaction gives its number back. The
    check for an existing invoice comes after the lock, so a second copy of the
    order (even under another event id, even on another replica) sees the first
    one's invoice and takes no number.
    """
    figures = domain.invoice_figures(event)
    if event.currency != CURRENCY:
        raise MalformedEvent(f"order {event.order_number} is in {event.currency}; accounts are in {CURRENCY}")
    account_exists = await session.scalar(
        select(func.count()).select_from(Account).where(Account.customer_id == event.customer_id)
    )
    if not account_exists:
        raise Transient(f"customer {event.customer_id} has no account yet (order {event.order_number})")

    year = event.order_date.year
    last = await _lock_counter(session, InvoiceCounter, year)
    if await session.scalar(select(Invoice.id).where(Invoice.order_id == event.order_id)) is not None:
        return None
    seq = await _take_number(session, InvoiceCounter, year, last)

    invoice = Invoice(
        id=uuid.uuid4(),
        number=domain.document_number(domain.INVOICE_PREFIX, year, seq),
        order_id=event.order_id,
        order_number=event.order_number,
        quote_id=event.quote_id,
        customer_id=event.customer_id,
        currency=CURRENCY,
        issue_date=event.order_date,
        due_date=domain.due_date(event.order_date, event.payment_terms_days),
        payment_terms_days=event.payment_terms_days,
        net_total=figures.net_total,
        vat_total=figures.vat_total,
        total=figures.total,
        paid_total=0,
        credited_total=0,
        balance=figures.total,
        status=domain.invoice_status(figures.total, 0, 0).value,
        lines=[
            InvoiceLine(
                line_no=n,
                product_code=line.product_code,
                product_name=line.product_name,
                product_group=line.product_group,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount_pct=line.discount_pct,
                vat_rate_pct=line.vat_rate_pct,
                net_amount=line.net_amount,
                vat_amount=line.vat_amount,
                gross_amount=line.gross_amount,
            )
            for n, line in enumerate(figures.lines, start=1)
        ],
    )
    session.add(invoice)
    await session.flush()
    _record(session, invoice, domain.LedgerKind.INVOICE, invoice.id, invoice.issue_date, invoice.total)
    await _move_balance(session, invoice.customer_id, invoice.total)
    await session.flush()
    return invoice


async def _lock_counter(
    session: AsyncSession, counter: type[InvoiceCounter | CreditNoteCounter], year: int
) -> int:
    await session.execute(
        insert(counter).values(year=year, last=0).on_conflict_do_nothing(index_elements=["year"])
    )
    last = await session.scalar(select(counter.last).where(counter.year == year).with_for_update())
    assert last is not None  # the row was inserted above or already there
    return last


async def _take_number(
    session: AsyncSession, counter: type[InvoiceCounter | CreditNoteCounter], year: int, last: int
) -> int:
    await session.execute(update(counter).where(counter.year == year).values(last=last + 1))
    return last + 1


def _record(
    session: AsyncSession,
    invoice: Invoice,
    kind: domain.LedgerKind,
    document_id: uuid.UUID,
    on: date,
    amount: int,
    reference: str | None = None,
) -> None:
    session.add(
        LedgerEntry(
            entry_date=on,
            customer_id=invoice.customer_id,
            invoice_id=invoice.id,
            kind=kind.value,
            document_id=document_id,
            amount=amount,
            currency=invoice.currency,
            reference=reference or invoice.number,
        )
    )


async def _move_balance(session: AsyncSession, customer_id: uuid.UUID, delta: int) -> None:
    await session.execute(
        update(Account)
        .where(Account.customer_id == customer_id)
        .values(balance=Account.balance + delta, updated_at=func.now())
    )


def _invoices_visible_to(stmt: Select[Any], user: User) -> Select[Any]:
    """A salesperson sees the invoices of the customers they own now."""
    if user.sees_all:
        return stmt
    return visible_to(stmt.join(Account, Account.customer_id == Invoice.customer_id), Account.owner_id, user)


async def list_invoices(
    session: AsyncSession,
    user: User,
    page: PageParams,
    *,
    customer_id: uuid.UUID | None = None,
    status: domain.InvoiceStatus | None = None,
) -> tuple[list[Invoice], int]:
    stmt = _invoices_visible_to(select(Invoice), user)
    if customer_id is not None:
        stmt = stmt.where(Invoice.customer_id == customer_id)
    if status is not None:
        stmt = stmt.where(Invoice.status == status.value)
    return await fetch_page(session, stmt, page, Invoice.issue_date.desc(), Invoice.number.desc())


@dataclass(frozen=True)
class InvoiceDetail:
    invoice: Invoice
    payments: list[Payment]
    credit_notes: list[CreditNote]


async def get_invoice(session: AsyncSession, invoice_id: uuid.UUID, user: User) -> InvoiceDetail:
    stmt = _invoices_visible_to(
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


async def _invoice_for_update(session: AsyncSession, invoice_id: uuid.UUID) -> Invoice:
    invoice = await session.scalar(select(Invoice).where(Invoice.id == invoice_id).with_for_update())
    if invoice is None:
        raise errors.NotFound("invoice", invoice_id)
    return invoice


# -- payments and credit notes ---------------------------------------------------------


@dataclass(frozen=True)
class PaymentRequest:
    invoice_id: uuid.UUID
    amount: int
    paid_on: date
    method: domain.PaymentMethod
    reference: str | None


async def record_payment(session: AsyncSession, request: PaymentRequest, user: User, today: date) -> Payment:
    """A payment lowers the invoice's balance and the account's; never more than is owed."""
    invoice = await _invoice_for_update(session, request.invoice_id)
    if request.paid_on > today:
        raise errors.Invalid(f"paid_on {request.paid_on} is in the future")
    if request.paid_on < invoice.issue_date:
        raise errors.Invalid(
            f"paid_on {request.paid_on} is before invoice {invoice.number} was issued ({invoice.issue_date})"
        )
    _settle(invoice, request.amount, paid=True)
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
    _record(
        session, invoice, domain.LedgerKind.PAYMENT, payment.id, payment.paid_on, -payment.amount, reference
    )
    await _move_balance(session, invoice.customer_id, -payment.amount)
    await session.flush()
    return payment


async def issue_credit_note(
    session: AsyncSession, invoice_id: uuid.UUID, amount: int, reason: str, user: User, today: date
) -> CreditNote:
    """A credit note corrects an invoice downwards, numbered `CN-YYYY-NNNNNN` without gaps."""
    invoice = await _invoice_for_update(session, invoice_id)
    _settle(invoice, amount, paid=False)
    last = await _lock_counter(session, CreditNoteCounter, today.year)
    seq = await _take_number(session, CreditNoteCounter, today.year, last)
    note = CreditNote(
        id=uuid.uuid4(),
        number=domain.document_number(domain.CREDIT_NOTE_PREFIX, today.year, seq),
        invoice_id=invoice.id,
        customer_id=invoice.customer_id,
        amount=amount,
        reason=reason,
        issued_on=today,
        issued_by=user.id,
    )
    session.add(note)
    await session.flush()
    _record(session, invoice, domain.LedgerKind.CREDIT_NOTE, note.id, today, -amount, note.number)
    await _move_balance(session, invoice.customer_id, -amount)
    await session.flush()
    return note


def _settle(invoice: Invoice, amount: int, *, paid: bool) -> None:
    domain.check_settlement(amount, invoice.balance, invoice.number)
    invoice.balance -= amount
    if paid:
        invoice.paid_total += amount
    else:
        invoice.credited_total += amount
    invoice.status = domain.invoice_status(invoice.balance, invoice.paid_total, invoice.credited_total).value


async def list_payments(
    session: AsyncSession,
    page: PageParams,
    *,
    invoice_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
) -> tuple[list[Payment], int]:
    stmt = select(Payment)
    if invoice_id is not None:
        stmt = stmt.where(Payment.invoice_id == invoice_id)
    if customer_id is not None:
        stmt = stmt.where(Payment.customer_id == customer_id)
    return await fetch_page(
        session, stmt, page, Payment.paid_on.desc(), Payment.recorded_at.desc(), Payment.id
    )


async def list_credit_notes(
    session: AsyncSession,
    page: PageParams,
    *,
    invoice_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
) -> tuple[list[CreditNote], int]:
    stmt = select(CreditNote)
    if invoice_id is not None:
        stmt = stmt.where(CreditNote.invoice_id == invoice_id)
    if customer_id is not None:
        stmt = stmt.where(CreditNote.customer_id == customer_id)
    return await fetch_page(session, stmt, page, CreditNote.number.desc())


# -- receivables and the ledger --------------------------------------------------------


@dataclass(frozen=True)
class AgingReport:
    as_of: date
    rows: list[domain.Aging]
    names: dict[uuid.UUID, str]
    total: int
    totals: dict[str, int]


async def aging(session: AsyncSession, as_of: date, page: PageParams) -> AgingReport:
    """Per customer, what was owed at the end of `as_of` by days overdue; one page of customers."""
    everyone = domain.age(await open_items(session, as_of), as_of)
    totals = {name: sum(a.buckets[name] for a in everyone) for name, _, _ in domain.BUCKETS}
    rows = everyone[page.offset : page.offset + page.limit]
    named = await session.execute(
        select(Account.customer_id, Account.customer_name).where(
            Account.customer_id.in_([r.customer_id for r in rows])
        )
    )
    names = {customer_id: name for customer_id, name in named}
    return AgingReport(as_of=as_of, rows=rows, names=names, total=len(everyone), totals=totals)


@dataclass(frozen=True)
class LedgerPage:
    entries: list[LedgerEntry]
    total: int
    sums: dict[str, int]


async def ledger(
    session: AsyncSession,
    page: PageParams,
    *,
    from_date: date | None = None,
    to_date: date | None = None,
    customer_id: uuid.UUID | None = None,
    kind: domain.LedgerKind | None = None,
) -> LedgerPage:
    stmt = select(LedgerEntry)
    if from_date is not None:
        stmt = stmt.where(LedgerEntry.entry_date >= from_date)
    if to_date is not None:
        stmt = stmt.where(LedgerEntry.entry_date <= to_date)
    if customer_id is not None:
        stmt = stmt.where(LedgerEntry.customer_id == customer_id)
    if kind is not None:
        stmt = stmt.where(LedgerEntry.kind == kind.value)
    entries, total = await fetch_page(session, stmt, page, LedgerEntry.entry_date, LedgerEntry.id)
    filtered = stmt.subquery()
    by_kind = await session.execute(
        select(filtered.c.kind, func.sum(filtered.c.amount)).group_by(filtered.c.kind)
    )
    sums = {k.value: 0 for k in domain.LedgerKind}
    sums.update({kind_: int(amount) for kind_, amount in by_kind})
    return LedgerPage(entries=entries, total=total, sums=sums)
