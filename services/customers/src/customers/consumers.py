"""Events the customers service reacts to. Each handler decodes and delegates to a use case;
the kit runs it in one transaction with the inbox record, so it takes effect once."""

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import Envelope, LeadQualified, PortfolioReassigned
from crm_kit import directory
from crm_kit.bus import Handlers

from . import service

log = logging.getLogger(__name__)

handlers = Handlers()
#: The staff directory (UserRegistered, UserDeactivated): owners must be active staff.
directory.register(handlers)


@handlers.handles(LeadQualified)
async def lead_qualified(session: AsyncSession, event: LeadQualified, envelope: Envelope) -> None:
    """A converted lead becomes a prospect with the id the lead minted for it."""
    await service.register_from_lead(session, event, envelope)


@handlers.handles(PortfolioReassigned)
async def portfolio_reassigned(session: AsyncSession, event: PortfolioReassigned, envelope: Envelope) -> None:
    moved = await service.reassign_portfolio(session, event, envelope)
    log.info(
        "portfolio of %s moved to %s: %d customers, %d planned activities",
        event.from_user_id,
        event.to_user_id,
        moved.customers,
        moved.planned_activities,
    )
