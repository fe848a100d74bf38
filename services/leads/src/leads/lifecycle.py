"""A lead's way through the pipeline: new -> contacting -> evaluated -> converted, or
closed (disqualified) from any open status. The moves allowed are `domain.TRANSITIONS`.

Each use case takes a session inside the caller's transaction, audits what it changed
in `lead_history`, and writes its events to the outbox in that same transaction.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from crm_kit import customer_copy, errors
from crm_kit.auth import User
from crm_kit.outbox import emit

from . import domain, events, history
from .domain import Action, Status
from .models import DisqualifyReason, Lead
from .schemas import ContactRequest, ConvertRequest, DisqualifyRequest, EvaluateRequest
from .search import get_visible


async def contact(session: AsyncSession, lead_id: uuid.UUID, data: ContactRequest, user: User) -> Lead:
    lead = await get_visible(session, lead_id, user, for_update=True)
    before = history.snapshot(lead)
    lead.status = domain.transition(lead.status, Status.CONTACTING).value
    lead.contacted_at = lead.updated_at = datetime.now(UTC)
    lead.contact_note = data.note
    history.record_change(session, lead, Action.CONTACTED, user.id, before)
    return lead


async def evaluate(session: AsyncSession, lead_id: uuid.UUID, data: EvaluateRequest, user: User) -> Lead:
    lead = await get_visible(session, lead_id, user, for_update=True)
    before = history.snapshot(lead)
    lead.status = domain.transition(lead.status, Status.EVALUATED).value
    lead.promising = data.promising
    lead.evaluation_note = data.note
    lead.evaluated_at = lead.updated_at = datetime.now(UTC)
    history.record_change(session, lead, Action.EVALUATED, user.id, before)
    return lead


async def disqualify(session: AsyncSession, lead_id: uuid.UUID, data: DisqualifyRequest, user: User) -> Lead:
    """Close a lead as not promising, with a reason from the managed list."""
    lead = await get_visible(session, lead_id, user, for_update=True)
    reason = await session.get(DisqualifyReason, data.reason)
    if reason is None or not reason.active:
        raise errors.Invalid.at(
            ("body", "reason"),
            f"{data.reason!r} is not a current disqualification reason",
            code="lead.reason_unknown",
            params={"reason": data.reason},
        )
    before = history.snapshot(lead)
    lead.status = domain.transition(lead.status, Status.CLOSED).value
    lead.disqualify_reason = reason.code
    lead.disqualify_note = data.note
    lead.closed_at = lead.updated_at = datetime.now(UTC)
    history.record_change(session, lead, Action.DISQUALIFIED, user.id, before)
    await emit(session, events.disqualified(lead), actor=user.id)
    return lead


async def convert(session: AsyncSession, lead_id: uuid.UUID, data: ConvertRequest, user: User) -> Lead:
    """A promising lead becomes a prospect customer (and an opportunity, if given), or,
    with `data.customer_id`, is converted onto that existing customer (repeat business
    from someone already buying: no second record of them).

    The ids are minted here and travel in `LeadQualified`, so customers and sales
    create them idempotently.
    """
    lead = await get_visible(session, lead_id, user, for_update=True)
    before = history.snapshot(lead)
    lead.status = domain.conversion(lead.status, lead.promising).value
    existing = await _existing_customer(session, data.customer_id, user) if data.customer_id else None
    lead.customer_id = existing or uuid.uuid4()
    opportunity = data.opportunity
    lead.opportunity_id = uuid.uuid4() if opportunity else None
    lead.converted_at = lead.updated_at = datetime.now(UTC)
    changes = history.diff(before, history.snapshot(lead))
    if opportunity:
        changes["opportunity_name"] = [None, opportunity.name]
        changes["expected_amount"] = [None, opportunity.expected_amount]
    if existing:
        changes["onto_existing_customer"] = [None, str(existing)]
    history.record(session, lead.id, Action.CONVERTED, user.id, changes)
    await emit(
        session, events.qualified(lead, opportunity, onto_existing=existing is not None), actor=user.id
    )
    return lead


#: How long a conversion onto a customer created a moment ago waits for its event.
CUSTOMER_WAIT_S = 2.5


async def _existing_customer(session: AsyncSession, customer_id: uuid.UUID, user: User) -> uuid.UUID:
    """The customer a lead converts onto: one leads has heard of (waiting briefly for a
    customer created a moment ago), active, not merged away (its survivor is taken), and
    the caller's own unless they see everyone's."""
    known = await customer_copy.arrived(session, customer_id, within_s=CUSTOMER_WAIT_S)
    if known is None:
        raise errors.NotYet(
            f"customer {customer_id} is not known to leads yet: it may still be on its way from"
            " the customers service (try again in a moment), or it may not exist",
            code="customer.not_yet",
            params={"customer": str(customer_id)},
        )
    survivor = await customer_copy.survivor(session, customer_id)
    if survivor != customer_id:
        known = await customer_copy.known(session, survivor)
        assert known is not None, "a merge points at a customer the copy knows"
    if not user.can_see(known.owner_id):
        raise errors.Invalid(
            f"customer {customer_id} is not one of yours",
            code="lead.customer_not_yours",
            params={"customer": str(customer_id)},
        )
    if known.lifecycle_stage == customer_copy.Stage.INACTIVE:
        raise errors.Invalid(
            f"customer {customer_id} is inactive: promote it again before converting onto it",
            code="lead.customer_inactive",
            params={"customer": str(customer_id)},
        )
    return survivor
