"""Events sales reacts to: small handlers that decode and delegate to the service layer."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import (
    CreditChecked,
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
    PortfolioReassigned,
)
from crm_kit import directory
from crm_kit.bus import Handlers

from . import performance, service
from .settings import Settings


def build_handlers(settings: Settings) -> Handlers:
    handlers = Handlers()
    # The staff directory: a deactivated member of staff's token is refused (401).
    directory.register(handlers)

    @handlers.handles(CustomerRegistered)
    async def customer_registered(
        session: AsyncSession, event: CustomerRegistered, envelope: Envelope
    ) -> None:
        await service.register_customer(session, event, envelope.occurred_at)

    @handlers.handles_many(CustomerPromotedToTraditional)
    async def open_customers(
        session: AsyncSession, promotions: Sequence[tuple[CustomerPromotedToTraditional, Envelope]]
    ) -> None:
        await service.open_customers(session, promotions, settings)

    @handlers.handles(CustomerGraded)
    async def customer_graded(session: AsyncSession, event: CustomerGraded, envelope: Envelope) -> None:
        await service.grade_customer(session, event)

    @handlers.handles(CustomerReassigned)
    async def customer_reassigned(
        session: AsyncSession, event: CustomerReassigned, envelope: Envelope
    ) -> None:
        await service.customer_reassigned(session, event)

    @handlers.handles(CustomerUpdated)
    async def customer_updated(session: AsyncSession, event: CustomerUpdated, envelope: Envelope) -> None:
        await service.customer_updated(session, event)

    @handlers.handles(CustomerDeactivated)
    async def customer_deactivated(
        session: AsyncSession, event: CustomerDeactivated, envelope: Envelope
    ) -> None:
        await service.customer_deactivated(session, event)

    @handlers.handles(LeadCaptured)
    async def lead_captured(session: AsyncSession, event: LeadCaptured, envelope: Envelope) -> None:
        await performance.lead_captured(session, event)

    @handlers.handles(LeadQualified)
    async def lead_qualified(session: AsyncSession, event: LeadQualified, envelope: Envelope) -> None:
        await service.open_opportunity(session, event)
        await performance.lead_qualified(session, event)

    @handlers.handles(LeadDisqualified)
    async def lead_disqualified(session: AsyncSession, event: LeadDisqualified, envelope: Envelope) -> None:
        await performance.lead_disqualified(session, event)

    @handlers.handles(CreditChecked)
    async def credit_checked(session: AsyncSession, event: CreditChecked, envelope: Envelope) -> None:
        await service.record_credit_check(session, event)

    @handlers.handles(PortfolioReassigned)
    async def portfolio_reassigned(
        session: AsyncSession, event: PortfolioReassigned, envelope: Envelope
    ) -> None:
        await service.reassign_portfolio(session, event, envelope.actor)

    return handlers
