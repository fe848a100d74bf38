"""Events the customers service reacts to. Each handler decodes and delegates to a use case;
the kit runs it in one transaction with the inbox record, so it takes effect once."""

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import (
    Envelope,
    LeadQualified,
    OrderPlaced,
    PortfolioReassigned,
    QuoteAccepted,
    QuoteApproved,
    QuoteRejected,
    QuoteSent,
)
from crm_kit import directory
from crm_kit.handlers import Handlers

from . import lifecycle, ownership
from .domain import TimelineKind

log = logging.getLogger(__name__)

handlers = Handlers()
#: The staff directory (UserRegistered, UserDeactivated): owners must be active staff.
directory.register(handlers)


@handlers.handles(LeadQualified)
async def lead_qualified(session: AsyncSession, event: LeadQualified, envelope: Envelope) -> None:
    """A converted lead becomes a prospect with the id the lead minted for it, or, converted
    onto an existing customer, is noted in that customer's timeline."""
    if event.onto_existing:
        await lifecycle.note_converted_lead(session, event, envelope)
    else:
        await lifecycle.register_from_lead(session, event, envelope)


@handlers.handles(PortfolioReassigned)
async def portfolio_reassigned(session: AsyncSession, event: PortfolioReassigned, envelope: Envelope) -> None:
    moved = await ownership.reassign_portfolio(session, event, envelope)
    log.info(
        "portfolio of %s moved to %s: %d customers, %d planned activities",
        event.from_user_id,
        event.to_user_id,
        moved.customers,
        moved.planned_activities,
    )


@handlers.handles(QuoteAccepted)
async def quote_accepted(session: AsyncSession, event: QuoteAccepted, envelope: Envelope) -> None:
    """A successful sale makes the customer traditional."""
    await lifecycle.promote_on_acceptance(session, event, envelope)


@handlers.handles(QuoteApproved)
async def quote_approved(session: AsyncSession, event: QuoteApproved, envelope: Envelope) -> None:
    detail = {
        "quote_id": str(event.quote_id),
        "quote_number": event.quote_number,
        "total": event.total,
        "automatic": event.automatic,
        "override_reason": event.override_reason,
    }
    await lifecycle.record_sales_event(
        session, event.customer_id, TimelineKind.QUOTE_APPROVED, envelope.actor, detail
    )


@handlers.handles(QuoteSent)
async def quote_sent(session: AsyncSession, event: QuoteSent, envelope: Envelope) -> None:
    """The quote sent, with its document attached (the link to its PDF)."""
    detail = {
        "quote_id": str(event.quote_id),
        "quote_number": event.quote_number,
        "total": event.total,
        "valid_until": event.valid_until.isoformat(),
        "document": event.document_path,
    }
    await lifecycle.record_sales_event(
        session, event.customer_id, TimelineKind.QUOTE_SENT, envelope.actor, detail
    )


@handlers.handles(QuoteRejected)
async def quote_rejected(session: AsyncSession, event: QuoteRejected, envelope: Envelope) -> None:
    detail = {"quote_id": str(event.quote_id), "quote_number": event.quote_number, "reason": event.reason}
    await lifecycle.record_sales_event(
        session, event.customer_id, TimelineKind.QUOTE_REJECTED, envelope.actor, detail
    )


@handlers.handles(OrderPlaced)
async def order_placed(session: AsyncSession, event: OrderPlaced, envelope: Envelope) -> None:
    """The customer's last purchase, and the order in its timeline."""
    await lifecycle.record_purchase(session, event, envelope)
