"""What customers owe: now (for a credit check), at the end of a past day (an account's
figures), and by days overdue (the aging report).

A past day's figures come from the ledger, so they are what they were then; what is
owed now comes from the invoices' balances.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Date, and_, exists, func, literal, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from crm_kit.http import PageParams

from . import accounts, domain
from .filters import where_given
from .models import Invoice, LedgerEntry, ReceivableBalance, ReceivableDue


@dataclass(frozen=True)
class Receivables:
    as_of: date
    open_receivables: int
    overdue_receivables: int
    invoices: int
    open_invoices: int
    overdue_invoices: int


async def of_customer(session: AsyncSession, customer_id: uuid.UUID, as_of: date) -> Receivables:
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
    owed = where_given(
        select(LedgerEntry.invoice_id, func.sum(LedgerEntry.amount).label("owed")).where(
            LedgerEntry.entry_date <= as_of
        ),
        (LedgerEntry.customer_id, customer_id),
    )
    owed_sq = owed.group_by(LedgerEntry.invoice_id).subquery()
    rows = await session.execute(
        select(Invoice.customer_id, Invoice.due_date, owed_sq.c.owed)
        .join(owed_sq, owed_sq.c.invoice_id == Invoice.id)
        .where(owed_sq.c.owed > 0)
    )
    return [domain.OpenItem(r.customer_id, r.due_date, int(r.owed)) for r in rows]


async def open_receivables(session: AsyncSession, customer_id: uuid.UUID) -> int:
    """What the customer owes now: the unpaid balances of their invoices."""
    owed = await session.scalar(
        select(func.coalesce(func.sum(Invoice.balance), 0)).where(
            Invoice.customer_id == customer_id, Invoice.balance > 0
        )
    )
    return int(owed or 0)


@dataclass(frozen=True)
class AgingReport:
    as_of: date
    rows: list[domain.Aging]
    names: dict[uuid.UUID, str]
    total: int
    totals: dict[domain.AgingBucket, int]


async def aging(
    session: AsyncSession, as_of: date, page: PageParams, *, today: date | None = None
) -> AgingReport:
    """Per customer, what was owed at the end of `as_of` by days overdue; one page of customers
    (largest total first, then by id), the count of every customer who owed and the column
    totals over all of them.

    From `today` on what is owed is the invoices' own balances (nothing is paid or credited
    on a later day than today, so the ledger up to `as_of` sums to the balance), read from
    the summaries the invoices keep (`ReceivableBalance`, `ReceivableDue`): the page, the
    count and the totals without reading every invoice that owes (`_aging_now`). A past day's
    balances come from the ledger, summed per invoice (`_aging_summed`): that is rarer, and
    its order and totals are what they were then, which no summary of today holds."""
    if today is not None and as_of >= today:
        found = await _aging_now(session, as_of, page)
        if found is None:  # an invoice dated after `as_of` owes: the summaries count it
            found = await _aging_summed(session, as_of, page, _owed_now(as_of))
    else:
        found = await _aging_summed(session, as_of, page, _owed_then(as_of))
    rows, total, totals = found
    # The page's names after the cut: joined before it, every owing customer's was read.
    names = await accounts.names_of(session, [r.customer_id for r in rows])
    return AgingReport(as_of=as_of, rows=rows, names=names, total=total, totals=totals)


_Aged = tuple[list[domain.Aging], int, dict[domain.AgingBucket, int]]


def _bucketed(owed: Any, due_date: Any, as_of: date, prefix: str = "") -> list[Any]:
    """`owed` summed per bucket of days overdue at the end of `as_of` (`domain.BUCKETS`), 0
    where nothing is, labelled by bucket (after `prefix`)."""
    days = literal(as_of, Date) - due_date
    return [
        func.coalesce(
            func.sum(owed).filter(
                and_(
                    *([days >= first] if first is not None else []),
                    *([days <= last] if last is not None else []),
                )
            ),
            0,
        ).label(prefix + bucket.value)
        for bucket, first, last in domain.BUCKETS
    ]


async def _aging_now(session: AsyncSession, as_of: date, page: PageParams) -> _Aged | None:
    """Today's aging from the summaries, in one statement (one snapshot): the page of
    customers from `ix_receivable_balances_rank`, their buckets from their own invoices
    (`ix_invoices_owed`), the count from `receivable_balances` and the column totals from
    `receivable_dues` (a row per due date). None when an invoice issued after `as_of` owes
    something (its order dated ahead): the report leaves it out and the summaries do not."""
    ranked = (
        select(ReceivableBalance.customer_id, ReceivableBalance.owed)
        .order_by(ReceivableBalance.owed.desc(), ReceivableBalance.customer_id)
        .limit(page.limit)
        .offset(page.offset)
        .cte("ranked")
    )
    on_page = (
        select(ranked.c.customer_id, ranked.c.owed, *_bucketed(Invoice.balance, Invoice.due_date, as_of))
        .join_from(
            ranked,
            Invoice,
            and_(
                Invoice.customer_id == ranked.c.customer_id, Invoice.balance > 0, Invoice.issue_date <= as_of
            ),
        )
        .group_by(ranked.c.customer_id, ranked.c.owed)
        .subquery("on_page")
    )
    totals = select(*_bucketed(ReceivableDue.owed, ReceivableDue.due_date, as_of, "all_")).subquery("totals")
    counted = select(func.count().label("customers")).select_from(ReceivableBalance).subquery("counted")
    later = select(
        exists().where(Invoice.issue_date > as_of, Invoice.balance > 0).label("issued_later")
    ).subquery("later")
    stmt = (
        select(counted.c.customers, later.c.issued_later, totals, on_page.c.customer_id)
        .add_columns(*(on_page.c[b.value] for b in domain.AgingBucket))
        .select_from(counted.join(later, true()).join(totals, true()).outerjoin(on_page, true()))
        .order_by(on_page.c.owed.desc(), on_page.c.customer_id)
    )
    found = (await session.execute(stmt)).all()
    if found[0].issued_later:
        return None
    rows = [
        domain.Aging(r.customer_id, {b: int(r._mapping[b.value]) for b in domain.AgingBucket})
        for r in found
        if r.customer_id is not None
    ]
    totals_row = found[0]._mapping
    return (
        rows,
        int(found[0].customers),
        {b: int(totals_row[f"all_{b.value}"]) for b in domain.AgingBucket},
    )


def _owed_now(as_of: date) -> Any:
    """Each invoice that owes now, issued by the end of `as_of`: its customer, due date and balance."""
    return (
        select(Invoice.customer_id, Invoice.due_date, Invoice.balance.label("owed"))
        .where(Invoice.balance > 0, Invoice.issue_date <= as_of)
        .subquery()
    )


def _owed_then(as_of: date) -> Any:
    """Each invoice that owed at the end of `as_of`, from its ledger entries up to then."""
    owed = (
        select(LedgerEntry.invoice_id, func.sum(LedgerEntry.amount).label("owed"))
        .where(LedgerEntry.entry_date <= as_of)
        .group_by(LedgerEntry.invoice_id)
        .having(func.sum(LedgerEntry.amount) > 0)
        .subquery()
    )
    return (
        select(Invoice.customer_id, Invoice.due_date, owed.c.owed)
        .join(owed, owed.c.invoice_id == Invoice.id)
        .subquery()
    )


async def _aging_summed(session: AsyncSession, as_of: date, page: PageParams, items: Any) -> _Aged:
    """The aging from `items` (customer, due date, what it owed), in one statement, set-based:
    summed per customer and bucket, the page cut after the sort, and the count and the column
    totals over every customer by window functions on the same rows. (It loaded every open
    item into Python before: at a million invoices, a 504.)"""
    per_customer = (
        select(
            items.c.customer_id,
            *_bucketed(items.c.owed, items.c.due_date, as_of),
            func.sum(items.c.owed).label("total"),
        )
        .group_by(items.c.customer_id)
        .subquery()
    )
    buckets = [per_customer.c[b.value] for b in domain.AgingBucket]
    stmt = (
        select(
            per_customer.c.customer_id,
            *buckets,
            func.count().over().label("customers"),
            *(func.sum(c).over().label(f"all_{c.key}") for c in buckets),
        )
        .order_by(per_customer.c.total.desc(), per_customer.c.customer_id)
        .limit(page.limit)
        .offset(page.offset)
    )
    found = (await session.execute(stmt)).all()
    rows = [
        domain.Aging(r.customer_id, {b: int(r._mapping[b.value]) for b in domain.AgingBucket}) for r in found
    ]
    if found:
        total = int(found[0].customers)
        totals = {b: int(found[0]._mapping[f"all_{b.value}"]) for b in domain.AgingBucket}
    else:  # past the last page (or nothing owed): the count and totals on their own
        total, totals = await _aging_totals(session, per_customer, buckets)
    return rows, total, totals


async def _aging_totals(
    session: AsyncSession, per_customer: Any, buckets: list[Any]
) -> tuple[int, dict[domain.AgingBucket, int]]:
    row = (
        await session.execute(
            select(func.count(), *(func.coalesce(func.sum(c), 0) for c in buckets)).select_from(per_customer)
        )
    ).one()
    return int(row[0]), {b: int(v) for b, v in zip(domain.AgingBucket, row[1:], strict=True)}
