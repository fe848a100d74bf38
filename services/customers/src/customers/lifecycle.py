"""Use cases of a customer's life with sales: a prospect from a qualified lead, the
promotion to traditional (by hand, or on an accepted quote), and what sales reports
afterwards (quote decisions, orders and the last purchase) in the customer's timeline.

Deactivation, the way out, is an edit of the customer master (`records.deactivate`).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import CustomerPromotedToTraditional, Envelope, LeadQualified, OrderPlaced, QuoteAccepted
from crm_kit import handovers
from crm_kit.auth import User
from crm_kit.handlers import Transient
from crm_kit.outbox import emit
from crm_kit.text import fold, normalize_email, normalize_vn_phone

from . import domain, records
from .domain import Stage, TimelineKind
from .models import Customer
from .records import get_visible, now, registered_event
from .timeline import record


async def register_from_lead(session: AsyncSession, event: LeadQualified, envelope: Envelope) -> bool:
    """Create the prospect a lead's conversion minted; False if it exists already.

    The id comes from the event, so a second copy of it (or a replay) finds the row
    and does nothing. A lead of someone who has left since goes to whoever took their
    portfolio (`crm_kit.handovers`).
    """
    owner_id = await handovers.successor(session, event.owner_id)
    created = await session.execute(
        pg_insert(Customer)
        .values(
            id=event.customer_id,
            name=event.name[:200],
            name_folded=fold(event.name)[:200],
            contact_name=event.contact_name[:200] or None,
            # A number that is not Vietnamese is kept as given rather than lost.
            phone=normalize_vn_phone(event.phone) or (event.phone or None),
            email=normalize_email(event.email),
            region_code=event.region_code,
            channel_id=event.channel_id,
            owner_id=owner_id,
            lifecycle_stage=Stage.PROSPECT.value,
            source=event.source,
            lead_id=event.lead_id,
        )
        .on_conflict_do_nothing(index_elements=[Customer.id])
        .returning(Customer.id)
    )
    if created.first() is None:
        return False
    customer = (await session.execute(select(Customer).where(Customer.id == event.customer_id))).scalar_one()
    record(session, customer.id, TimelineKind.REGISTERED, envelope.actor, {"from_lead": str(event.lead_id)})
    await emit(session, registered_event(customer), actor=envelope.actor)
    return True


async def note_converted_lead(session: AsyncSession, event: LeadQualified, envelope: Envelope) -> None:
    """A lead that turned out to be an existing customer: nothing new is made, the lead is
    noted in the customer's timeline (the inbox makes a second copy a no-op)."""
    customer = await _known(session, event.customer_id)
    record(
        session,
        customer.id,
        TimelineKind.LEAD_CONVERTED,
        envelope.actor,
        {"lead_id": str(event.lead_id), "contact_name": event.contact_name},
    )


# -- promotion -------------------------------------------------------------------------


def promoted_event(customer: records.CustomerFacts) -> CustomerPromotedToTraditional:
    assert customer.promoted_at is not None
    return CustomerPromotedToTraditional(
        customer_id=customer.id,
        name=customer.name,
        owner_id=customer.owner_id,
        region_code=customer.region_code,
        channel_id=customer.channel_id,
        **records.b2b_fields(customer),
        promoted_at=customer.promoted_at,
    )


async def promote(session: AsyncSession, customer_id: uuid.UUID, user: User) -> Customer:
    """Make the customer traditional; idempotent (a second call changes nothing)."""
    customer = await get_visible(session, customer_id, user, for_update=True)
    await _promote(session, customer, user.id, {})
    return customer


async def promote_on_acceptance(session: AsyncSession, event: QuoteAccepted, envelope: Envelope) -> None:
    """A customer who accepted a quote is traditional (a successful sale): promote a
    prospect, or bring back an inactive one. Sales places the order on the promotion."""
    customer = await _known(session, event.customer_id, for_update=True)
    record(
        session,
        customer.id,
        TimelineKind.QUOTE_ACCEPTED,
        envelope.actor,
        {"quote_id": str(event.quote_id), "quote_number": event.quote_number, "total": event.total},
    )
    await _promote(session, customer, envelope.actor, {"quote_id": str(event.quote_id)})


async def _promote(
    session: AsyncSession, customer: Customer, actor: uuid.UUID | None, why: dict[str, Any]
) -> None:
    if not domain.promotion(Stage(customer.lifecycle_stage)):
        return
    previous = customer.lifecycle_stage
    customer.lifecycle_stage = Stage.TRADITIONAL
    customer.promoted_at = now()
    customer.updated_at = customer.promoted_at
    record(
        session,
        customer.id,
        TimelineKind.STAGE_CHANGED,
        actor,
        {"from": previous, "to": Stage.TRADITIONAL.value, **why},
    )
    await emit(session, promoted_event(customer), actor=actor)
    await session.flush()


# -- what sales reports ----------------------------------------------------------------


async def record_sales_event(
    session: AsyncSession,
    customer_id: uuid.UUID,
    kind: TimelineKind,
    actor: uuid.UUID | None,
    detail: dict[str, Any],
) -> None:
    """A quote decision or an order in the customer's timeline (the customer 360 view)."""
    customer = await _known(session, customer_id)
    record(session, customer.id, kind, actor, detail)


async def record_purchase(session: AsyncSession, event: OrderPlaced, envelope: Envelope) -> None:
    customer = await _known(session, event.customer_id, for_update=True)
    if customer.last_purchase_at is None or customer.last_purchase_at < event.placed_at:
        customer.last_purchase_at = event.placed_at
        customer.last_order_total = event.total
    record(
        session,
        customer.id,
        TimelineKind.ORDER_PLACED,
        envelope.actor,
        {"order_id": str(event.order_id), "order_number": event.order_number, "total": event.total},
    )


async def _known(session: AsyncSession, customer_id: uuid.UUID, *, for_update: bool = False) -> Customer:
    """The customer another service's event is about; while it is not known here yet,
    `Transient` (the event is retried later)."""
    customer = await session.get(Customer, customer_id, with_for_update=for_update)
    if customer is None:
        raise Transient(f"customer {customer_id} is not known here yet")
    # A merged customer's quotes and orders are the survivor's (sales moves them too).
    while customer.merged_into_id is not None:
        customer = await session.get(Customer, customer.merged_into_id, with_for_update=for_update)
        assert customer is not None, "a merge points at a customer that exists (foreign key)"
    return customer
