"""Accounting's HTTP routes: parse, authorize, call the use case, shape the answer.

Who may do what: accountants and admins keep the books (credit limits, payments,
credit notes, the ledger); sales managers read everything but the ledger; a
salesperson reads the accounts and invoices of the customers they own; marketing
has no business with receivables.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from crm_kit import audit, errors
from crm_kit.auth import CurrentUser, Role, User, require_roles
from crm_kit.http import Page, Paging
from crm_kit.runtime import DbDep, RuntimeDep

from . import accounts, credit, credit_notes, credit_policy, domain, invoices, ledger, payments, receivables
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
    CreditPolicyIn,
    CreditPolicyOut,
    CreditRuleOut,
    InvoiceDetailOut,
    InvoiceLineOut,
    InvoiceOut,
    LedgerEntryOut,
    LedgerOut,
    LedgerSums,
    PaymentIn,
    PaymentOut,
    PolicyApplied,
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
    customer_id: uuid.UUID, body: AccountUpdate, user: CurrentUser, db: DbDep, settings: SettingsDep
) -> AccountOut:
    """Set the credit limit by hand (accountant, admin): it is then `manual` and stays, whatever
    the policy or the customer's grade do; or `follow_policy` to give it back to the policy.
    Each change goes into the limit's history with `reason`."""
    async with db.transaction() as session:
        if body.credit_limit is not None:
            account = await accounts.set_credit_limit(
                session, customer_id, body.credit_limit, user, body.reason
            )
        else:
            account = await accounts.follow_policy(
                session, customer_id, user, settings.default_credit_limit, body.reason
            )
        return AccountOut.model_validate(account)


@router.get(
    "/api/accounts/{customer_id}/credit-limit-history",
    tags=["accounts"],
    dependencies=[require_roles(*READERS)],
)
async def credit_limit_history(
    customer_id: uuid.UUID, user: CurrentUser, db: DbDep, paging: Paging
) -> Page[audit.AuditEntryOut]:
    """Every change of the account's credit limit, newest first: opened with the policy's
    limit, set by hand, the policy re-applied, followed a new grade; who (by name), when,
    before, after and why."""
    async with db.transaction() as session:
        await accounts.get(session, customer_id, user)
        return await audit.page(
            session,
            [credit_policy.ACCOUNT],
            customer_id,
            paging,
            actions=[c.value for c in domain.LimitChange],
        )


# -- the credit policy -----------------------------------------------------------------


async def _policy_out(session: AsyncSession, settings: Settings) -> CreditPolicyOut:
    policy = await credit_policy.get(session)
    return CreditPolicyOut(
        rules=[CreditRuleOut.model_validate(r) for r in policy.rules],
        default_credit_limit=settings.default_credit_limit,
        updated_at=policy.updated_at,
        updated_by=policy.updated_by,
    )


@router.get("/api/credit-policy", tags=["credit"], dependencies=[require_roles(*READERS)])
async def get_credit_policy(db: DbDep, settings: SettingsDep) -> CreditPolicyOut:
    """The limit a new account gets, per customer grade and channel kind. The most specific
    rule wins: grade and kind, then grade, then kind, then the fallback."""
    async with db.transaction() as session:
        return await _policy_out(session, settings)


@router.put("/api/credit-policy", tags=["credit"], dependencies=[require_roles(*BOOKKEEPERS)])
async def put_credit_policy(
    body: CreditPolicyIn, user: CurrentUser, db: DbDep, settings: SettingsDep
) -> CreditPolicyOut:
    """Replace the policy's rules (accountant, admin): each a grade and/or channel kind with
    a limit in dong or `cash_only`, and one fallback rule (neither). 422 naming the rule at
    fault, a scope given twice included; nothing changes then. Existing accounts keep their
    limits until `POST /api/credit-policy/apply` or their customer's next grade."""
    rules = [domain.PolicyRule(r.grade, r.channel_kind, r.credit_limit or 0, r.cash_only) for r in body.rules]
    async with db.transaction() as session:
        await credit_policy.replace(session, rules, user)
        return await _policy_out(session, settings)


@router.post("/api/credit-policy/apply", tags=["credit"], dependencies=[require_roles(*BOOKKEEPERS)])
async def apply_credit_policy(user: CurrentUser, db: DbDep, settings: SettingsDep) -> PolicyApplied:
    """Give every account whose limit follows the policy (never set by hand) the policy's
    limit now; how many changed. Limits set by hand stay."""
    async with db.transaction() as session:
        changed = await credit_policy.apply(
            session,
            settings.default_credit_limit,
            actor=user.id,
            action=domain.LimitChange.POLICY,
            reason="policy applied",
        )
    return PolicyApplied(changed=changed)


@router.get("/api/credit-policy/history", tags=["credit"], dependencies=[require_roles(*READERS)])
async def credit_policy_history(db: DbDep, paging: Paging) -> Page[audit.AuditEntryOut]:
    """Every change of the policy, newest first: who, when, the rules before and after."""
    async with db.transaction() as session:
        return await audit.page(session, [credit_policy.POLICY], credit_policy.POLICY_ID, paging)


async def _account_exists(session: AsyncSession, customer_id: uuid.UUID, user: User) -> None:
    await accounts.get(session, customer_id, user)


#: `GET /api/accounts/{id}/audit`: every change of the account (its credit limit, for now).
audit_router = audit.audit_router("accounts", credit_policy.ACCOUNT, roles=READERS, exists=_account_exists)


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
    settings: SettingsDep,
    customer_id: uuid.UUID | None = None,
    invoice_status: Annotated[domain.InvoiceFilter | None, Query(alias="status")] = None,
    number: Annotated[str | None, Query(max_length=20, description="whole, or its beginning")] = None,
    issued_from: Annotated[date | None, Query(alias="from", description="issue date, included")] = None,
    issued_to: Annotated[date | None, Query(alias="to", description="issue date, included")] = None,
) -> Page[InvoiceOut]:
    """Invoices, the latest issue date first (one per order placed): a salesperson sees those of
    the customers they own now; accountants, sales managers and admins see all. Filters: the
    customer, `status` (`open`, `partially_paid`, `paid`, `credited`, or `overdue`: still owing
    after its due date), the number (or its beginning), the issue date's range."""
    query = invoices.InvoiceQuery(customer_id, invoice_status, number, issued_from, issued_to)
    async with db.transaction() as session:
        rows, total = await invoices.list_page(session, user, paging, query, settings.today())
        names = await accounts.names_of(session, [i.customer_id for i in rows])
        return Page(items=[_named(InvoiceOut.model_validate(i), names) for i in rows], total=total)


@router.get("/api/invoices/{invoice_id}", tags=["invoices"], dependencies=[require_roles(*OWNER_READERS)])
async def get_invoice(invoice_id: uuid.UUID, user: CurrentUser, db: DbDep) -> InvoiceDetailOut:
    """One invoice with its lines, its payments (oldest first) and its credit notes. To a
    salesperson, an invoice of a customer they do not own now is 'not found'."""
    async with db.transaction() as session:
        detail = await invoices.get(session, invoice_id, user)
        names = await accounts.names_of(session, [detail.invoice.customer_id])
        return InvoiceDetailOut(
            **_named(InvoiceOut.model_validate(detail.invoice), names).model_dump(),
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
        names = await accounts.names_of(session, [n.customer_id for n in rows])
        return Page(items=[_named(CreditNoteOut.model_validate(n), names) for n in rows], total=total)


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
        names = await accounts.names_of(session, [p.customer_id for p in rows])
        return Page(items=[_named(PaymentOut.model_validate(p), names) for p in rows], total=total)


Named = TypeVar("Named", InvoiceOut, PaymentOut, CreditNoteOut)


def _named(out: Named, names: dict[uuid.UUID, str]) -> Named:
    out.customer_name = names.get(out.customer_id)
    return out


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
        raise errors.Invalid(
            f"from {from_date} is after to {to_date}",
            code="dates.from_after_to",
            params={"from_date": from_date, "to_date": to_date},
        )
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
