"""Events the leads service reacts to: staff joining and leaving (the kit's directory)
and portfolio hand-overs."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import CampaignLaunched, Envelope, PortfolioReassigned
from crm_kit import directory
from crm_kit.handlers import Handlers, Transient

from . import campaigns, portfolio

log = logging.getLogger(__name__)

handlers = Handlers()
directory.register(handlers)


@handlers.handles(PortfolioReassigned)
async def portfolio_reassigned(session: AsyncSession, event: PortfolioReassigned, envelope: Envelope) -> None:
    """Every lead of the leaving person moves to the new owner, in this one transaction."""
    try:
        moved = await portfolio.reassign(session, event.from_user_id, event.to_user_id, actor=envelope.actor)
    except portfolio.UnknownStaff as exc:
        # The new owner's UserRegistered travels on its own and may not be here yet.
        raise Transient(str(exc)) from exc
    log.info(
        "moved %d leads from %s to %s",
        moved,
        event.from_user_id,
        event.to_user_id,
        extra={"moved": moved},
    )


@handlers.handles(CampaignLaunched)
async def campaign_launched(session: AsyncSession, event: CampaignLaunched, envelope: Envelope) -> None:
    await campaigns.launched(session, event)
