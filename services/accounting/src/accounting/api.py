"""Accounting's HTTP routes: parse, authorize, call the use case, shape the answer.

Who may do what: accountants and admins keep the books (credit limits, payments,
credit notes, the ledger); sales managers read everything but the ledger; a
salesperson reads the accounts and invoices of the customers they own; marketing
has no business with receivables.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from crm_kit import errors
from crm_kit.auth import CurrentUser, Role, require_roles
from crm_kit.http import Page, Paging
from crm_kit.runtime import DbDep, RuntimeDep

from . import accounts, credit, credit_notes, domain, invoices, ledger, payments, receivables
from .schemas import (
    AccountDetail,
    AccountOut,
    AccountUpdate,
    AgingOut,
    AgingRowOut,
    AgingTotals,
    CreditCheckOut,
    CreditNoteIn,
    CreditNoteOut,
    InvoiceDetailOut,
    InvoiceLineOut,
    InvoiceOut,
    LedgerEntryOut,
    LedgerOut,
    LedgerSums,
    PaymentIn,
    PaymentOut,
)
from .settings import Settings

BOOKKEEPERS = (Role.ACCOUNTANT, Role.ADMIN)
READERS = (Role.ACCOUNTANT, Role.SALES_MANAGER, Role.ADMIN)
#: Readers, and a salesperson for the customers they own.
OWNER_READERS = (*READERS, Role.SALESPERSON)

router = APIRouter()


async def get_settings(runtime: RuntimeDep) -> Settings:
    settings = runtime.settings
    assert isinstance(settings, Settings), "accounting runs with accounting.settings.Settings"
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]
AsOf = Annotated[date | None, Query(description="the day to report on (default: today)")]


# -- accounts --------------------------------------------------------------------------


@router.get("/api/accounts", tags=["accounts"], dependencies=[require_roles(*OWNER_READERS)])
async def list_accounts(user: CurrentUser, db: DbDep, paging: Paging) -> Page[AccountOut]:
    """Customers' accounts, the most recently opened first (one is opened when a customer is
    promoted to traditional): a salesperson sees those of the customers they own now;
    accountants, sales managers and admins see all."""
    async with db.transaction() as session:
        rows, total = await accounts.list_page(session, user, paging)
        return Page(items=[AccountOut.model_validate(a) for a in rows], total=total)


@router.get("/api/accounts/{customer_id}", tags=["accounts"], dependencies=[require_roles(*OWNER_READERS)])
async def get_account(
    customer_id: uuid.UUID, user: CurrentUser, db: DbDep, settings: SettingsDep, as_of: AsOf = None
) -> AccountDetail:
    """The customer's account (it exists once the customer is traditional) and what they owe."""
    day = as_of or settings.today()
    async with db.transaction() as session:
        account = await accounts.get(session, customer_id, user)
        owed = await receivables.of_customer(session, customer_id, day)
        return AccountDetail(
            **AccountOut.model_validate(account).model_dump(),
            as_of=owed.as_of,
            open_receivables=owed.open_receivables,
            overdue_receivables=owed.overdue_receivables,
            invoices=owed.invoices,
            open_invoices=owed.open_invoices,
            overdue_invoices=owed.overdue_invoices,
        )


@router.patch("/api/accounts/{customer_id}", tags=["accounts"], dependencies=[require_roles(*BOOKKEEPERS)])
async def update_account(
    customer_id: uuid.UUID, body: AccountUpdate, user: CurrentUser, db: DbDep
) -> AccountOut:
    """Set the credit limit (accountant)."""
    async with db.transaction() as session:
        account = await accounts.set_credit_limit(session, customer_id, body.credit_limit, user)
        return AccountOut.model_validate(account)


# -- credit checks ---------------------------------------------------------------------


@router.get("/api/credit-checks", tags=["credit"], dependencies=[require_roles(*READERS)])
async def list_credit_checks(
    db: DbDep,
    paging: Paging,
    customer_id: uuid.UUID | None = None,
    quote_id: uuid.UUID | None = None,
) -> Page[CreditCheckOut]:
    """The answers given to quotes submitted for approval, newest first."""
    async with db.transaction() as session:
        rows, total = await credit.list_page(session, paging, customer_id=customer_id, quote_id=quote_id)
        return Page(items=[CreditCheckOut.model_validate(c) for c in rows], total=total)


# -- invoices --------------------------------------------------------------------------


@router.get("/api/invoices", tags=["invoices"], dependencies=[require_roles(*OWNER_READERS)])
async def list_invoices(
    user: CurrentUser,
    db: DbDep,
    paging: Paging,
    customer_id: uuid.UUID | None = None,
    invoice_status: Annotated[domain.InvoiceStatus | None, Query(alias="status")] = None,
) -> Page[InvoiceOut]:
    """Invoices, the latest issue date first (one per order placed): a salesperson sees those of
    the customers they own now; accountants, sales managers and admins see all."""
    async with db.transaction() as session:
        rows, total = await invoices.list_page(
            session, user, paging, customer_id=customer_id, status=invoice_status
        )
        return Page(items=[InvoiceOut.model_validate(i) for i in rows], total=total)


@router.get("/api/invoices/{invoice_id}", tags=["invoices"], dependencies=[require_roles(*OWNER_READERS)])
async def get_invoice(invoice_id: uuid.UUID, user: CurrentUser, db: DbDep) -> InvoiceDetailOut:
    """One invoice with its lines, its payments (oldest first) and its credit notes. To a
    salesperson, an invoice of a customer they do not own now is 'not found'."""
    async with db.transaction() as session:
        detail = await invoices.get(session, invoice_id, user)
        return InvoiceDetailOut(
            **InvoiceOut.model_validate(detail.invoice).model_dump(),
            lines=[InvoiceLineOut.model_validate(line) for line in detail.invoice.lines],
            payments=[PaymentOut.model_validate(p) for p in detail.payments],
            credit_notes=[CreditNoteOut.model_validate(n) for n in detail.credit_notes],
        )


@router.post(
    "/api/invoices/{invoice_id}/credit-notes",
    tags=["invoices"],
    status_code=status.HTTP_201_CREATED,
    dependencies=[require_roles(*BOOKKEEPERS)],
)
async def issue_credit_note(
    invoice_id: uuid.UUID, body: CreditNoteIn, user: CurrentUser, db: DbDep, settings: SettingsDep
) -> CreditNoteOut:
    """Correct an invoice downwards (never more than it still owes); dated today."""
    async with db.transaction() as session:
        note = await credit_notes.issue(session, invoice_id, body.amount, body.reason, user, settings.today())
        return CreditNoteOut.model_validate(note)


@router.get("/api/credit-notes", tags=["invoices"], dependencies=[require_roles(*READERS)])
async def list_credit_notes(
    db: DbDep,
    paging: Paging,
    invoice_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
) -> Page[CreditNoteOut]:
    """Credit notes issued against invoices, the highest (newest) number first."""
    async with db.transaction() as session:
        rows, total = await credit_notes.list_page(
            session, paging, invoice_id=invoice_id, customer_id=customer_id
        )
        return Page(items=[CreditNoteOut.model_validate(n) for n in rows], total=total)


# -- payments --------------------------------------------------------------------------


@router.post(
    "/api/payments",
    tags=["payments"],
    status_code=status.HTTP_201_CREATED,
    dependencies=[require_roles(*BOOKKEEPERS)],
)
async def record_payment(body: PaymentIn, user: CurrentUser, db: DbDep, settings: SettingsDep) -> PaymentOut:
    """Record money received against an invoice; it cannot exceed what the invoice still owes."""
    request = payments.PaymentRequest(
        invoice_id=body.invoice_id,
        amount=body.amount,
        paid_on=body.paid_on,
        method=body.method,
        reference=body.reference,
    )
    async with db.transaction() as session:
        payment = await payments.record(session, request, user, settings.today())
        return PaymentOut.model_validate(payment)


@router.get("/api/payments", tags=["payments"], dependencies=[require_roles(*READERS)])
async def list_payments(
    db: DbDep,
    paging: Paging,
    invoice_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
) -> Page[PaymentOut]:
    """Payments recorded against invoices, the latest payment date first."""
    async with db.transaction() as session:
        rows, total = await payments.list_page(
            session, paging, invoice_id=invoice_id, customer_id=customer_id
        )
        return Page(items=[PaymentOut.model_validate(p) for p in rows], total=total)


# -- receivables and the ledger --------------------------------------------------------


@router.get("/api/receivables/aging", tags=["receivables"], dependencies=[require_roles(*READERS)])
async def receivables_aging(db: DbDep, paging: Paging, settings: SettingsDep, as_of: AsOf = None) -> AgingOut:
    """Per customer, what was owed at the end of `as_of` by days overdue, largest first."""
    async with db.transaction() as session:
        today = settings.today()
        report = await receivables.aging(session, as_of or today, paging, today=today)
    return AgingOut(
        as_of=report.as_of,
        items=[
            AgingRowOut(
                customer_id=row.customer_id,
                customer_name=report.names.get(row.customer_id),
                total=row.total,
                **row.buckets,
            )
            for row in report.rows
        ],
        total=report.total,
        totals=AgingTotals(total=sum(report.totals.values()), **report.totals),
    )


@router.get("/api/ledger", tags=["ledger"], dependencies=[require_roles(*BOOKKEEPERS)])
async def revenue_ledger(
    db: DbDep,
    paging: Paging,
    from_date: Annotated[date | None, Query(alias="from")] = None,
    to_date: Annotated[date | None, Query(alias="to")] = None,
    customer_id: uuid.UUID | None = None,
    kind: domain.LedgerKind | None = None,
) -> LedgerOut:
    """Invoices, payments and credit notes by date (inclusive range), oldest first."""
    if from_date is not None and to_date is not None and from_date > to_date:
        raise errors.Invalid(f"from {from_date} is after to {to_date}")
    async with db.transaction() as session:
        result = await ledger.list_page(
            session, paging, from_date=from_date, to_date=to_date, customer_id=customer_id, kind=kind
        )
        items = [LedgerEntryOut.model_validate(e) for e in result.entries]
    return LedgerOut(
        items=items,
        total=result.total,
        sums=LedgerSums(
            invoiced=result.sums[domain.LedgerKind.INVOICE],
            paid=result.sums[domain.LedgerKind.PAYMENT],
            credited=result.sums[domain.LedgerKind.CREDIT_NOTE],
        ),
    )
