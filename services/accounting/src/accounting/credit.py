"""The credit check: accounting's answer to a quote submitted for approval (open
receivables, what the customer's other quotes and orders not invoiced yet commit, and
the quote, against the customer's credit limit), and the answers given.

Each runs in the caller's transaction.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import CreditChecked, Envelope, MalformedEvent, QuoteSubmittedForApproval
from crm_kit import outbox
from crm_kit.http import PageParams
from crm_kit.queries import fetch_page

from . import commitments, credit_policy, domain, receivables
from .domain import CURRENCY
from .filters import where_given
from .models import Account, CreditCheck


async def check(
    session: AsyncSession,
    event: QuoteSubmittedForApproval,
    envelope: Envelope,
    default_credit_limit: int,
    today: date,
) -> None:
    """Answer one submission of a quote once: the same submission again (a redelivery
    under another event id) finds the stored answer and emits nothing more."""
    if event.currency != CURRENCY:
        raise MalformedEvent(f"quote {event.quote_number} is in {event.currency}; accounts are in {CURRENCY}")
    if event.total < 0:
        raise MalformedEvent(f"quote {event.quote_number} has a negative total")
    await commitments.lock_customer(session, event.customer_id)
    await commitments.record(
        session,
        event.quote_id,
        event.customer_id,
        domain.Commitment.PENDING,
        event.submitted_at,
        total=event.total,
        valid_until=event.valid_until,
    )
    account = await session.get(Account, event.customer_id)
    # A prospect (no account yet) gets what the policy would give its account.
    limit = (
        domain.Limit(account.credit_limit, account.cash_only)
        if account is not None
        else await credit_policy.limit_of_customer(session, event.customer_id, default_credit_limit)
    )
    decision = domain.credit_decision(
        await receivables.open_receivables(session, event.customer_id),
        event.total,
        limit.credit_limit,
        await commitments.committed(session, event.customer_id, today, besides=event.quote_id),
        cash_only=limit.cash_only,
    )
    answer = CreditChecked(
        quote_id=event.quote_id,
        submission=event.submission,
        customer_id=event.customer_id,
        passed=decision.passed,
        exposure=decision.exposure,
        open_receivables=decision.open_receivables,
        committed=decision.committed,
        credit_limit=decision.credit_limit,
        reason=decision.reason,
        currency=CURRENCY,
        checked_at=datetime.now(UTC),
    )
    # The stored answer is the one emitted, with the quote it was given to.
    stored = await session.execute(
        insert(CreditCheck)
        .values(
            id=uuid.uuid4(),
            quote_number=event.quote_number,
            quote_owner_id=event.owner_id,
            quote_total=event.total,
            default_limit=account is None,
            **answer.model_dump(),
        )
        .on_conflict_do_nothing(constraint="uq_credit_checks_submission")
        .returning(CreditCheck.id)
    )
    if stored.first() is None:
        return
    await outbox.emit(session, answer, actor=envelope.actor)


async def list_page(
    session: AsyncSession,
    page: PageParams,
    *,
    customer_id: uuid.UUID | None = None,
    quote_id: uuid.UUID | None = None,
) -> tuple[list[CreditCheck], int]:
    stmt = where_given(
        select(CreditCheck), (CreditCheck.customer_id, customer_id), (CreditCheck.quote_id, quote_id)
    )
    return await fetch_page(session, stmt, page, CreditCheck.checked_at.desc(), CreditCheck.id)
