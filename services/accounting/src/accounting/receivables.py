"""What customers owe: now (for a credit check), at the end of a past day (an account's
figures), and by days overdue (the aging report).

A past day's figures come from the ledger, so they are what they were then; what is
owed now comes from the invoices' balances.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
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


async def aging(session: AsyncSession, as_of: date, page: PageParams) -> AgingReport:
    """Per customer, what was owed at the end of `as_of` by days overdue; one page of customers."""
    everyone = domain.age(await open_items(session, as_of), as_of)
    totals = {bucket: sum(a.buckets[bucket] for a in everyone) for bucket in domain.AgingBucket}
    rows = everyone[page.offset : page.offset + page.limit]
    names = await accounts.names_of(session, [r.customer_id for r in rows])
    return AgingReport(as_of=as_of, rows=rows, names=names, total=len(everyone), totals=totals)
