"""How a quote gets approved: the approval rules say which quotes need a sales manager; a
submitted quote waits for accounting's credit check (QuoteSubmittedForApproval, then
CreditChecked) and, when the rules need one, for a manager who approves or rejects it."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import (
    CreditChecked,
    MalformedEvent,
    QuoteApproved,
    QuoteRejected,
    QuoteSubmittedForApproval,
)
from crm_kit import errors, outbox
from crm_kit.auth import Role, User

from . import domain, performance
from .common import audit, utc_now
from .domain import Approval, AuditAction, Audited, CreditStatus, QuoteAction, QuoteStatus
from .models import ApprovalRule, Quote, SalesCustomer
from .performance_rules import FactKind
from .quotes import about, clear_approval, find_quote, refuse_if_past_validity, transition
from .schemas import ApprovalRulesIn
from .settings import Settings

log = logging.getLogger(__name__)

# -- the rules -------------------------------------------------------------------------


async def approval_rules(session: AsyncSession) -> ApprovalRule:
    rule = await session.get(ApprovalRule, 1)
    if rule is None:  # the migration seeds it; this keeps a hand-emptied table working
        rule = ApprovalRule(id=1, mode=domain.ApprovalMode.ALL)
        session.add(rule)
        await session.flush()
    return rule


def _rules(rule: ApprovalRule) -> domain.ApprovalRules:
    return domain.ApprovalRules(
        mode=domain.ApprovalMode(rule.mode),
        min_total=rule.min_total,
        max_discount_pct=rule.max_discount_pct,
        max_below_level_pct=rule.max_below_level_pct,
        second_approval_min_total=rule.second_approval_min_total,
    )


def _rules_record(rule: ApprovalRule) -> dict[str, Any]:
    discount, below = rule.max_discount_pct, rule.max_below_level_pct
    return {
        "mode": rule.mode,
        "min_total": rule.min_total,
        "max_discount_pct": None if discount is None else str(discount),
        "max_below_level_pct": None if below is None else str(below),
        "second_approval_min_total": rule.second_approval_min_total,
    }


async def set_approval_rules(session: AsyncSession, body: ApprovalRulesIn, user: User) -> ApprovalRule:
    wanted = domain.ApprovalRules(
        body.mode,
        body.min_total,
        body.max_discount_pct,
        body.max_below_level_pct,
        body.second_approval_min_total,
    )
    if problem := wanted.problem():
        if body.mode == domain.ApprovalMode.ALL:
            raise errors.Invalid(problem, code="approval_rules.all_takes_no_thresholds")
        raise errors.Invalid(problem, code="approval_rules.threshold_needs_one")
    rule = await approval_rules(session)
    before = _rules_record(rule)
    rule.mode = body.mode
    rule.min_total = body.min_total
    rule.max_discount_pct = body.max_discount_pct
    rule.max_below_level_pct = body.max_below_level_pct
    rule.second_approval_min_total = body.second_approval_min_total
    rule.updated_by = user.id
    rule.updated_at = utc_now()
    changes = {"before": before, "after": _rules_record(rule)}
    await audit(session, Audited.APPROVAL_RULES, uuid.UUID(int=1), AuditAction.CHANGED, user.id, changes)
    return rule


# -- a quote's way through them ----------------------------------------------------------


async def submit_quote(session: AsyncSession, quote_id: uuid.UUID, user: User, settings: Settings) -> Quote:
    """Ask for approval: accounting checks credit (QuoteSubmittedForApproval) and, when the
    rules need one, a manager decides; otherwise a passed check approves it."""
    quote = await find_quote(session, quote_id, user, lock=True)
    status = transition(quote, QuoteAction.SUBMIT)
    refuse_if_past_validity(quote, settings, "edit valid_until first")
    rules = _rules(await approval_rules(session))
    now = utc_now()
    clear_approval(quote)
    quote.status = status
    quote.submission += 1
    quote.submitted_at = now
    quote.updated_at = now
    quote.needs_manager = rules.needs_manager(quote.total, quote.max_discount_pct, _most_below_level(quote))
    quote.needs_second_approver = rules.needs_second_approver(quote.total)
    quote.credit_status = CreditStatus.PENDING
    await outbox.emit(
        session,
        QuoteSubmittedForApproval(
            **about(quote),
            submission=quote.submission,
            customer_name=quote.customer_name,
            total=quote.total,
            currency=quote.currency,
            submitted_at=now,
            needs_manager=bool(quote.needs_manager),
            valid_until=quote.valid_until,
        ),
        actor=user.id,
    )
    changes = {
        "status": [QuoteStatus.DRAFT, status],
        "submission": quote.submission,
        "needs_manager": quote.needs_manager,
    }
    await audit(session, Audited.QUOTE, quote.id, AuditAction.SUBMITTED, user.id, changes)
    return quote


def _most_below_level(quote: Quote) -> Fraction:
    """How far the quote's line furthest below its level is, in percent of that level."""
    return max(
        (domain.below_level_pct(line.level_price, line.quantity, line.net_amount) for line in quote.lines),
        default=Fraction(0),
    )


async def record_credit_check(session: AsyncSession, event: CreditChecked) -> None:
    """Put accounting's answer on the quote, if it answers the quote's current submission;
    a passed check approves a quote the rules let through without a manager."""
    quote = (
        await session.execute(select(Quote).where(Quote.id == event.quote_id).with_for_update())
    ).scalar_one_or_none()
    if quote is None:
        raise MalformedEvent(f"CreditChecked for quote {event.quote_id}, which sales never made")
    if event.submission != quote.submission or quote.credit_status != CreditStatus.PENDING:
        # An answer for a submission the quote has since left (edited, resubmitted): stale.
        log.info(
            "credit check for %s submission %d ignored: the quote is at submission %d (%s)",
            quote.number,
            event.submission,
            quote.submission,
            quote.status,
        )
        return
    credit = CreditStatus.PASSED if event.passed else CreditStatus.FAILED
    quote.credit_status = credit
    quote.credit_exposure = event.exposure
    quote.credit_open_receivables = event.open_receivables
    quote.credit_committed = event.committed
    quote.credit_limit = event.credit_limit
    quote.credit_checked_at = event.checked_at
    quote.updated_at = utc_now()
    answer = {"credit_status": credit.value, "exposure": event.exposure, "credit_limit": event.credit_limit}
    if event.reason:  # "cash only": the customer gets no credit, whatever the total
        answer["reason"] = event.reason
    await audit(session, Audited.QUOTE, quote.id, AuditAction.CREDIT_CHECKED, None, answer)
    if quote.status == QuoteStatus.PENDING_APPROVAL and domain.approves_automatically(
        bool(quote.needs_manager), credit
    ):
        await _approve(session, quote, transition(quote, QuoteAction.APPROVE), utc_now(), approver=None)


async def approve_quote(
    session: AsyncSession, quote_id: uuid.UUID, override_reason: str | None, user: User
) -> Quote:
    quote = await find_quote(session, quote_id, user, lock=True)
    status = transition(quote, QuoteAction.APPROVE)
    credit = CreditStatus(quote.credit_status) if quote.credit_status else None
    own_quote = user.id in (quote.created_by, quote.owner_id)
    if refusal := domain.approval_refusal(credit, override_reason, own_quote=own_quote):
        raise refusal
    if quote.first_approved_by == user.id:
        raise errors.Conflict(domain.SECOND_APPROVER, code="quote.second_approver_needed")
    now = utc_now()
    quote.override_reason = override_reason if credit == CreditStatus.FAILED else None
    quote.updated_at = now
    if quote.needs_second_approver and quote.first_approved_by is None and user.role != Role.ADMIN:
        await _first_approval(session, quote, now, user)
        return quote
    await _approve(session, quote, status, now, approver=user)
    return quote


async def _first_approval(session: AsyncSession, quote: Quote, at: datetime, user: User) -> None:
    """The first of the two approvals the quote needs: it waits for a second approver."""
    quote.first_approved_by = user.id
    quote.first_approved_at = at
    changes: dict[str, Any] = {"approved_as": user.role.value}
    if quote.override_reason:
        changes["override_reason"] = quote.override_reason
    await audit(session, Audited.QUOTE, quote.id, AuditAction.FIRST_APPROVED, user.id, changes)


async def _approve(
    session: AsyncSession, quote: Quote, status: QuoteStatus, at: datetime, *, approver: User | None
) -> None:
    """Approve the quote, by a manager or an admin (`approver`) or automatically (None),
    and say so with QuoteApproved."""
    quote.status = status
    quote.approval_mode = Approval.AUTOMATIC if approver is None else Approval.MANAGER
    quote.approved_by = None if approver is None else approver.id
    quote.approved_as = None if approver is None else approver.role.value
    quote.approved_at = at
    await outbox.emit(
        session,
        QuoteApproved(
            **about(quote),
            approved_by=quote.approved_by,
            approved_as=quote.approved_as,
            automatic=approver is None,
            total=quote.total,
            currency=quote.currency,
            override_reason=quote.override_reason,
            approved_at=at,
        ),
        actor=quote.approved_by,
    )
    changes: dict[str, Any] = {
        "status": [QuoteStatus.PENDING_APPROVAL, QuoteStatus.APPROVED],
        "mode": quote.approval_mode,
    }
    if quote.approved_as:
        changes["approved_as"] = quote.approved_as
    if quote.override_reason:
        changes["override_reason"] = quote.override_reason
    await audit(session, Audited.QUOTE, quote.id, AuditAction.APPROVED, quote.approved_by, changes)


async def reject_quote(session: AsyncSession, quote_id: uuid.UUID, reason: str, user: User) -> Quote:
    quote = await find_quote(session, quote_id, user, lock=True)
    quote.status = transition(quote, QuoteAction.REJECT)
    now = utc_now()
    quote.rejected_by = user.id
    quote.rejected_at = now
    quote.rejection_reason = reason
    quote.updated_at = now
    customer = await session.get(SalesCustomer, quote.customer_id)
    await performance.quote_fact(session, FactKind.QUOTE_REJECTED, quote, customer, now)
    await outbox.emit(
        session,
        QuoteRejected(
            **about(quote),
            rejected_by=user.id,
            reason=reason,
            rejected_at=now,
        ),
        actor=user.id,
    )
    changes = {"status": [QuoteStatus.PENDING_APPROVAL, QuoteStatus.REJECTED], "reason": reason}
    await audit(session, Audited.QUOTE, quote.id, AuditAction.REJECTED, user.id, changes)
    return quote
