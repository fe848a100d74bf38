"""What each quote commits of its customer's credit until its order is invoiced, kept from
sales' quote events, so the credit check counts a deal split into several quotes once.

A quote commits its total while it is pending approval, approved or sent (until its last
valid day), and once accepted until its order is invoiced; then the invoice's balance
counts instead, so nothing counts twice. A rejected, declined or reopened quote commits
nothing until it is submitted again. Events may arrive out of order: each carries the time
it happened, and the newest wins (an invoiced quote stays invoiced).

Each runs in the caller's transaction.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import Envelope, QuoteAccepted, QuoteApproved, QuoteDeclined, QuoteRejected, QuoteReopened
from crm_kit.handlers import Handlers

from .domain import UNTIL_VALID, Commitment
from .models import CreditCommitment

_table = CreditCommitment.__table__


async def lock_customer(session: AsyncSession, customer_id: uuid.UUID) -> None:
    """Take the customer's credit lock until the transaction ends: two quotes of one
    customer checked at once (two replicas, one batch) see each other."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"credit:{customer_id}"}
    )


async def record(
    session: AsyncSession,
    quote_id: uuid.UUID,
    customer_id: uuid.UUID,
    status: Commitment,
    at: datetime,
    *,
    total: int | None = None,
    valid_until: date | None = None,
) -> None:
    """The quote's commitment as of `at`, unless a newer one is known or it is invoiced. A
    total not given (a closing event) keeps the one known (0 for a quote not seen yet)."""
    values = {
        "quote_id": quote_id,
        "customer_id": customer_id,
        "status": status,
        "total": total or 0,
        "valid_until": valid_until,
        "changed_at": at,
    }
    stmt = insert(CreditCommitment).values(values)
    kept = {
        "status": stmt.excluded.status,
        "changed_at": stmt.excluded.changed_at,
        "total": _table.c.total if total is None else stmt.excluded.total,
        "valid_until": _table.c.valid_until if valid_until is None else stmt.excluded.valid_until,
    }
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[_table.c.quote_id],
            set_=kept,
            where=and_(
                _table.c.changed_at <= stmt.excluded.changed_at, _table.c.status != Commitment.INVOICED
            ),
        )
    )


async def invoiced(session: AsyncSession, quote_id: uuid.UUID, customer_id: uuid.UUID, at: datetime) -> None:
    """The quote's order is invoiced: from now on its invoice counts, never the quote."""
    stmt = insert(CreditCommitment).values(
        quote_id=quote_id, customer_id=customer_id, status=Commitment.INVOICED, total=0, changed_at=at
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[_table.c.quote_id],
            set_={"status": stmt.excluded.status, "changed_at": func.greatest(_table.c.changed_at, at)},
        )
    )


async def committed(session: AsyncSession, customer_id: uuid.UUID, today: date, *, besides: uuid.UUID) -> int:
    """What the customer's quotes other than `besides` commit on `today`."""
    counted = or_(
        CreditCommitment.status == Commitment.ACCEPTED,
        and_(
            CreditCommitment.status.in_(UNTIL_VALID),
            or_(CreditCommitment.valid_until.is_(None), CreditCommitment.valid_until >= today),
        ),
    )
    found = await session.scalar(
        select(func.coalesce(func.sum(CreditCommitment.total), 0)).where(
            CreditCommitment.customer_id == customer_id, CreditCommitment.quote_id != besides, counted
        )
    )
    return int(found or 0)


def register(handlers: Handlers) -> None:
    """Keep each quote's commitment from sales' quote events."""

    @handlers.handles(QuoteApproved)
    async def approved(session: AsyncSession, event: QuoteApproved, envelope: Envelope) -> None:
        status, at = Commitment.APPROVED, event.approved_at
        await record(session, event.quote_id, event.customer_id, status, at, total=event.total)

    @handlers.handles(QuoteAccepted)
    async def accepted(session: AsyncSession, event: QuoteAccepted, envelope: Envelope) -> None:
        status, at = Commitment.ACCEPTED, event.accepted_at
        await record(session, event.quote_id, event.customer_id, status, at, total=event.total)

    @handlers.handles(QuoteRejected)
    async def rejected(session: AsyncSession, event: QuoteRejected, envelope: Envelope) -> None:
        await record(session, event.quote_id, event.customer_id, Commitment.CLOSED, event.rejected_at)

    @handlers.handles(QuoteDeclined)
    async def declined(session: AsyncSession, event: QuoteDeclined, envelope: Envelope) -> None:
        await record(session, event.quote_id, event.customer_id, Commitment.CLOSED, event.declined_at)

    @handlers.handles(QuoteReopened)
    async def reopened(session: AsyncSession, event: QuoteReopened, envelope: Envelope) -> None:
        await record(session, event.quote_id, event.customer_id, Commitment.CLOSED, event.reopened_at)
