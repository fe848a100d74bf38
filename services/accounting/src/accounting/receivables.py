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

from sqlalchemy import Date, and_, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_kit.http import PageParams

from . import accounts, domain
from .filters import where_given
from .models import Invoice, LedgerEntry


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
    """Per customer, what was owed at the end of `as_of` by days overdue; one page of customers.

    In one statement, set-based: each invoice's balance at the end of `as_of`, summed per
    customer and bucket (`domain.BUCKETS`), the page cut after the sort (largest total
    first), and the count and the column totals over every customer by window functions on
    the same rows. (It loaded every open item into Python before: at a million invoices,
    a 504.) A past day's balances come from the ledger; from `today` on they are the
    invoices' own (nothing is paid or credited on a later day than today, so the ledger up
    to `as_of` sums to the balance), read from the partial index of what is owed."""
    if today is not None and as_of >= today:
        items: Any = (
            select(Invoice.customer_id, Invoice.due_date, Invoice.balance.label("owed"))
            .where(Invoice.balance > 0, Invoice.issue_date <= as_of)
            .subquery()
        )
    else:
        owed = (
            select(LedgerEntry.invoice_id, func.sum(LedgerEntry.amount).label("owed"))
            .where(LedgerEntry.entry_date <= as_of)
            .group_by(LedgerEntry.invoice_id)
            .having(func.sum(LedgerEntry.amount) > 0)
            .subquery()
        )
        items = (
            select(Invoice.customer_id, Invoice.due_date, owed.c.owed)
            .join(owed, owed.c.invoice_id == Invoice.id)
            .subquery()
        )
    days = literal(as_of, Date) - items.c.due_date
    per_bucket = [
        func.coalesce(
            func.sum(items.c.owed).filter(
                and_(
                    *([days >= first] if first is not None else []),
                    *([days <= last] if last is not None else []),
                )
            ),
            0,
        ).label(bucket.value)
        for bucket, first, last in domain.BUCKETS
    ]
    per_customer = (
        select(items.c.customer_id, *per_bucket, func.sum(items.c.owed).label("total"))
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
    # The page's names after the cut: joined before it, every owing customer's was read.
    names = await accounts.names_of(session, [r.customer_id for r in rows])
    if found:
        total = int(found[0].customers)
        totals = {b: int(found[0]._mapping[f"all_{b.value}"]) for b in domain.AgingBucket}
    else:  # past the last page (or nothing owed): the count and totals on their own
        total, totals = await _aging_totals(session, per_customer, buckets)
    return AgingReport(as_of=as_of, rows=rows, names=names, total=total, totals=totals)


async def _aging_totals(
    session: AsyncSession, per_customer: Any, buckets: list[Any]
) -> tuple[int, dict[domain.AgingBucket, int]]:
    row = (
        await session.execute(
            select(func.count(), *(func.coalesce(func.sum(c), 0) for c in buckets)).select_from(per_customer)
        )
    ).one()
    return int(row[0]), {b: int(v) for b, v in zip(domain.AgingBucket, row[1:], strict=True)}
