"""The revenue ledger: one entry per invoice, payment and credit note, never changed,
and the bookkeepers' view of it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_kit.http import PageParams
from crm_kit.queries import fetch_page

from . import accounts, domain
from .filters import where_given
from .models import Invoice, LedgerEntry


async def post(
    session: AsyncSession,
    invoice: Invoice,
    kind: domain.LedgerKind,
    document_id: uuid.UUID,
    on: date,
    amount: int,
    reference: str | None = None,
) -> None:
    """Enter a document of `invoice` (the invoice itself, a payment or a credit note) and
    move the customer's account balance by its `amount`; the account is locked last."""
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
    await accounts.move_balance(session, invoice.customer_id, amount)
    await session.flush()


@dataclass(frozen=True)
class LedgerPage:
    entries: list[LedgerEntry]
    total: int
    #: Per kind, over every entry that matches (not just this page).
    sums: dict[domain.LedgerKind, int]


async def list_page(
    session: AsyncSession,
    page: PageParams,
    *,
    from_date: date | None = None,
    to_date: date | None = None,
    customer_id: uuid.UUID | None = None,
    kind: domain.LedgerKind | None = None,
) -> LedgerPage:
    stmt = where_given(select(LedgerEntry), (LedgerEntry.customer_id, customer_id), (LedgerEntry.kind, kind))
    if from_date is not None:
        stmt = stmt.where(LedgerEntry.entry_date >= from_date)
    if to_date is not None:
        stmt = stmt.where(LedgerEntry.entry_date <= to_date)
    entries, total = await fetch_page(session, stmt, page, LedgerEntry.entry_date, LedgerEntry.id)
    filtered = stmt.subquery()
    by_kind = await session.execute(
        select(filtered.c.kind, func.sum(filtered.c.amount)).group_by(filtered.c.kind)
    )
    sums = dict.fromkeys(domain.LedgerKind, 0)
    sums.update({domain.LedgerKind(kind_): int(amount) for kind_, amount in by_kind})
    return LedgerPage(entries=entries, total=total, sums=sums)
