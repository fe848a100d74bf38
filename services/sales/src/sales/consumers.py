"""Events sales reacts to: small handlers that decode and delegate to the use cases."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import (
    CareActivityClosed,
    CareActivityPlanned,
    ChannelChanged,
    CreditChecked,
    CreditNoteIssued,
    CustomerPromotedToTraditional,
    CustomerRegistered,
    Envelope,
    InvoiceIssued,
    LeadCaptured,
    LeadDisqualified,
    LeadQualified,
    PortfolioReassigned,
)
from crm_contracts.envelope import E
from crm_kit import directory
from crm_kit.documents import seller
from crm_kit.handlers import HandlerFn, Handlers, ManyHandlerFn

from . import approval, care, channels, customers, opportunities, orders, performance, portfolio
from .settings import Settings


def build_handlers(settings: Settings) -> Handlers:
    handlers = Handlers()
    # The staff directory: a deactivated member of staff's token is refused (401).
    directory.register(handlers)
    # The seller on quote and order PDFs: a copy of accounting's company profile.
    seller.register(handlers)
    handlers.handles_many(CustomerRegistered)(customers.register_customers)
    handlers.handles_many(CustomerPromotedToTraditional)(_opening_customers(settings))
    # Edits, hand-overs, deactivations and grades: the kit's standard handlers.
    customers.register(handlers)
    handlers.handles(LeadCaptured)(_event_only(performance.lead_captured))
    handlers.handles(LeadQualified)(_event_only(lead_qualified))
    handlers.handles(LeadDisqualified)(_event_only(performance.lead_disqualified))
    handlers.handles(CreditChecked)(_event_only(approval.record_credit_check))
    # Each channel's kind, for the price lists of channel kinds.
    handlers.handles(ChannelChanged)(_event_only(channels.channel_changed))
    # Care planned and closed by the customers service, for performance (care done and overdue).
    handlers.handles(CareActivityPlanned)(care_planned)
    handlers.handles(CareActivityClosed)(_closing_care(settings))
    handlers.handles(PortfolioReassigned)(portfolio_reassigned)
    # Accounting's invoice: the order is credited from then on, not cancelled.
    handlers.handles(InvoiceIssued)(_event_only(orders.invoice_issued))
    # Credit notes come off the revenue performance counts.
    handlers.handles(CreditNoteIssued)(_event_only(orders.credit_note_issued))
    return handlers


def _event_only(use_case: Callable[[AsyncSession, E], Awaitable[None]]) -> HandlerFn[E]:
    """The handler of a use case that needs the event, not its envelope."""

    async def handle(session: AsyncSession, event: E, envelope: Envelope) -> None:
        await use_case(session, event)

    return handle


def _opening_customers(settings: Settings) -> ManyHandlerFn[CustomerPromotedToTraditional]:
    async def open_customers(
        session: AsyncSession, promotions: Sequence[tuple[CustomerPromotedToTraditional, Envelope]]
    ) -> None:
        await customers.open_customers(session, promotions, settings)

    return open_customers


async def lead_qualified(session: AsyncSession, event: LeadQualified) -> None:
    await opportunities.open_opportunity(session, event)
    await performance.lead_qualified(session, event)


async def care_planned(session: AsyncSession, event: CareActivityPlanned, envelope: Envelope) -> None:
    await care.activity_planned(session, event, envelope.occurred_at)


def _closing_care(settings: Settings) -> HandlerFn[CareActivityClosed]:
    async def care_closed(session: AsyncSession, event: CareActivityClosed, envelope: Envelope) -> None:
        await care.activity_closed(session, event, settings)

    return care_closed


async def portfolio_reassigned(session: AsyncSession, event: PortfolioReassigned, envelope: Envelope) -> None:
    await portfolio.reassign_portfolio(session, event, envelope.actor)
