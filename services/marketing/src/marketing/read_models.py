"""Marketing's read models, kept from other services' events (never their databases):
customers and leads for campaigns, order lines (less credit notes) for revenue, and
staff hand-overs.

Events from different queues arrive in any order, so each write is an upsert that
never moves a record backwards (a registration after a promotion leaves the
customer traditional; an edit older than the one the profile holds changes nothing;
a capture after the decision leaves the outcome).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import (
    CreditNoteIssued,
    CustomerPromotedToTraditional,
    CustomerRegistered,
    CustomersMerged,
    Envelope,
    LeadCaptured,
    LeadDisqualified,
    LeadQualified,
    OrderCancelled,
    OrderPlaced,
    PortfolioReassigned,
)
from crm_kit import customer_copy, handovers
from crm_kit.customer_copy import Fact
from crm_kit.handlers import Transient

from . import channels, domain, regions
from .domain import LeadOutcome, Period
from .models import CampaignMember, LeadFact, RevenueFact


async def customers_registered(
    session: AsyncSession, registrations: Sequence[tuple[CustomerRegistered, Envelope]]
) -> None:
    """New customers join the audiences they match; an edit, a promotion or a grade that
    came first keeps what it said (`crm_kit.customer_copy`). Those that arrived together
    (an import sends thousands) in one statement."""
    facts = [Fact.of_registration(event, envelope.occurred_at) for event, envelope in registrations]
    await customer_copy.record(session, facts)


async def customers_promoted(session: AsyncSession, events: Sequence[CustomerPromotedToTraditional]) -> None:
    """Promotions that arrived together, in one statement (marketing's busiest event)."""
    await customer_copy.record(session, [Fact.of_promotion(event) for event in events])


async def lead_captured(session: AsyncSession, event: LeadCaptured) -> None:
    facts = {
        "owner_id": event.owner_id,
        "source": event.source,
        "region_code": event.region_code,
        "channel_id": event.channel_id,
        "campaign_id": event.campaign_id,
        "captured_at": event.captured_at,
    }
    await session.execute(
        insert(LeadFact)
        .values(lead_id=event.lead_id, outcome=LeadOutcome.CAPTURED, **facts)
        .on_conflict_do_update(index_elements=[LeadFact.lead_id], set_=facts)
    )


async def lead_decided(session: AsyncSession, event: LeadQualified | LeadDisqualified) -> None:
    qualified = isinstance(event, LeadQualified)
    decision = {
        "outcome": LeadOutcome.QUALIFIED if qualified else LeadOutcome.DISQUALIFIED,
        "customer_id": event.customer_id if isinstance(event, LeadQualified) else None,
        "decided_at": event.qualified_at if isinstance(event, LeadQualified) else event.disqualified_at,
        "owner_id": event.owner_id,
        "source": event.source,
        "region_code": event.region_code,
        "channel_id": event.channel_id,
        "campaign_id": event.campaign_id,
    }
    await session.execute(
        insert(LeadFact)
        .values(lead_id=event.lead_id, **decision)
        .on_conflict_do_update(index_elements=[LeadFact.lead_id], set_=decision)
    )


async def order_placed(session: AsyncSession, event: OrderPlaced) -> None:
    """Each line's net revenue under the order's region (a former code is mapped to the
    province it is part of now), channel, product group and quarter. Keyed by order and
    line, so an order sent twice (even as two events) counts once, and an order cancelled
    before it arrived (its lines kept at zero) stays at zero."""
    rows = await _order_rows(session, event)
    if rows:
        await session.execute(
            insert(RevenueFact)
            .values(rows)
            .on_conflict_do_nothing(index_elements=[RevenueFact.order_id, RevenueFact.line_no])
        )


async def order_cancelled(session: AsyncSession, event: OrderCancelled) -> None:
    """A cancelled order's revenue goes: its lines are kept at zero (in the period it was
    ordered in: it never happened), whether its `OrderPlaced` came first or comes later.
    The credit note accounting issues for an invoice that crossed the cancellation says so
    and takes nothing more (`credit_note_issued`)."""
    rows = await _order_rows(session, event)
    if rows:
        for row in rows:
            row["net_amount"] = 0
        stmt = insert(RevenueFact).values(rows)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[RevenueFact.order_id, RevenueFact.line_no], set_={"net_amount": 0}
            )
        )


async def _order_rows(session: AsyncSession, event: OrderPlaced | OrderCancelled) -> list[dict[str, Any]]:
    if not event.lines:
        return []
    # An order of a merged customer, sent before sales heard of the merge, is the survivor's.
    customer_id = await customer_copy.survivor(session, event.customer_id)
    quarter = Period.of_quarter(event.order_date)
    region_code = regions.index().current_code(event.region_code)
    return [
        {
            "order_id": event.order_id,
            "line_no": line_no,
            "customer_id": customer_id,
            "region_code": region_code,
            # Sized to fit: a malformed value must not make the order fail for ever.
            "source_region_code": event.region_code[:10] if event.region_code else None,
            "channel_id": event.channel_id,
            "owner_id": event.owner_id,
            "product_group": line.product_group[:100],
            "year": quarter.year,
            "quarter": quarter.quarter,
            "order_date": event.order_date,
            "net_amount": line.net_amount,
            "currency": event.currency,
            "placed_at": event.placed_at,
        }
        for line_no, line in enumerate(event.lines, start=1)
    ]


async def customers_merged(session: AsyncSession, event: CustomersMerged) -> None:
    """The merged customer's revenue, lead outcomes and campaign memberships become the
    survivor's (a campaign both were in keeps the survivor once), so its revenue counts
    under the survivor. Revenue keeps its province, channel and salesperson: market share
    per province and channel is what it was; what moves is whose it is. Run twice, the
    second finds nothing left to move."""
    target = await customer_copy.survivor(session, event.customer_id)
    merged = event.merged_customer_id
    for model in (RevenueFact, LeadFact):
        await session.execute(
            update(model)
            .where(model.customer_id == merged)
            .values(customer_id=target)
            .execution_options(synchronize_session=False)
        )
    both = select(CampaignMember.campaign_id).where(CampaignMember.customer_id == target)
    await session.execute(
        delete(CampaignMember).where(
            CampaignMember.customer_id == merged, CampaignMember.campaign_id.in_(both)
        )
    )
    await session.execute(
        update(CampaignMember)
        .where(CampaignMember.customer_id == merged)
        .values(customer_id=target)
        .execution_options(synchronize_session=False)
    )


async def credit_note_issued(session: AsyncSession, event: CreditNoteIssued) -> None:
    """A credit note's net part comes off its order's revenue: negative revenue facts on
    the credit note's date, under each of the order's lines in proportion to their net
    (so the province, channel, salesperson and product group lose what they gained).
    Keyed by the credit note, so a redelivery counts once; `Transient` until the order
    has arrived (the two events travel on different paths). A note issued because the
    order was cancelled takes nothing: the cancellation took the order off."""
    if event.order_cancelled:
        return
    lines = (
        (
            await session.execute(
                select(RevenueFact)
                .where(RevenueFact.order_id == event.order_id)
                .order_by(RevenueFact.line_no)
            )
        )
        .scalars()
        .all()
    )
    if not lines:
        raise Transient(f"order {event.order_id} of credit note {event.number} is not known here yet")
    shares = domain.split_in_proportion(event.net_amount, [line.net_amount for line in lines])
    quarter = Period.of_quarter(event.issued_on)
    rows = [
        {
            "order_id": event.credit_note_id,
            "line_no": line.line_no,
            "customer_id": line.customer_id,
            "region_code": line.region_code,
            "source_region_code": line.source_region_code,
            "channel_id": line.channel_id,
            "owner_id": line.owner_id,
            "product_group": line.product_group,
            "year": quarter.year,
            "quarter": quarter.quarter,
            "order_date": event.issued_on,
            "net_amount": -share,
            "currency": event.currency,
            "placed_at": event.issued_at,
        }
        for line, share in zip(lines, shares, strict=True)
        if share
    ]
    if rows:
        await session.execute(
            insert(RevenueFact)
            .values(rows)
            .on_conflict_do_nothing(index_elements=[RevenueFact.order_id, RevenueFact.line_no])
        )


async def portfolio_reassigned(session: AsyncSession, event: PortfolioReassigned) -> None:
    """A leaving salesperson's channel x region assignments go to their successor (or
    whoever took the successor's portfolio since: `crm_kit.handovers`)."""
    await channels.move_assignments(session, event.from_user_id, await handovers.record(session, event))
