"""Events marketing reacts to: customer and lead events feed campaign audiences and
results, orders feed revenue, staff events keep the directory and hand assignments over."""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import (
    CustomerDeactivated,
    CustomerGraded,
    CustomerPromotedToTraditional,
    CustomerReassigned,
    CustomerRegistered,
    CustomerUpdated,
    Envelope,
    LeadCaptured,
    LeadDisqualified,
    LeadQualified,
    OrderPlaced,
    PortfolioReassigned,
)
from crm_kit import directory
from crm_kit.bus import Handlers

from . import service

handlers = Handlers()
directory.register(handlers)


@handlers.handles(CustomerRegistered)
async def customer_registered(session: AsyncSession, event: CustomerRegistered, envelope: Envelope) -> None:
    await service.customer_registered(session, event, envelope.occurred_at)


@handlers.handles_many(CustomerPromotedToTraditional)
async def customers_promoted(
    session: AsyncSession, promotions: Sequence[tuple[CustomerPromotedToTraditional, Envelope]]
) -> None:
    await service.customers_promoted(session, [event for event, _ in promotions])


@handlers.handles(CustomerUpdated)
async def customer_updated(session: AsyncSession, event: CustomerUpdated, envelope: Envelope) -> None:
    await service.customer_updated(session, event)


@handlers.handles(CustomerDeactivated)
async def customer_deactivated(session: AsyncSession, event: CustomerDeactivated, envelope: Envelope) -> None:
    await service.customer_deactivated(session, event)


@handlers.handles(CustomerGraded)
async def customer_graded(session: AsyncSession, event: CustomerGraded, envelope: Envelope) -> None:
    await service.customer_graded(session, event)


@handlers.handles(CustomerReassigned)
async def customer_reassigned(session: AsyncSession, event: CustomerReassigned, envelope: Envelope) -> None:
    await service.customer_reassigned(session, event)


@handlers.handles(LeadCaptured)
async def lead_captured(session: AsyncSession, event: LeadCaptured, envelope: Envelope) -> None:
    await service.lead_captured(session, event)


@handlers.handles(LeadQualified)
async def lead_qualified(session: AsyncSession, event: LeadQualified, envelope: Envelope) -> None:
    await service.lead_decided(session, event)


@handlers.handles(LeadDisqualified)
async def lead_disqualified(session: AsyncSession, event: LeadDisqualified, envelope: Envelope) -> None:
    await service.lead_decided(session, event)


@handlers.handles(OrderPlaced)
async def order_placed(session: AsyncSession, event: OrderPlaced, envelope: Envelope) -> None:
    await service.order_placed(session, event)


@handlers.handles(PortfolioReassigned)
async def portfolio_reassigned(session: AsyncSession, event: PortfolioReassigned, envelope: Envelope) -> None:
    await service.portfolio_reassigned(session, event)
