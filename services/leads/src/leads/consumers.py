"""Events the leads service reacts to: staff joining and leaving (the kit's directory)
and portfolio hand-overs."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import CampaignLaunched, Envelope, PortfolioReassigned
from crm_kit import directory, handovers
from crm_kit.handlers import Handlers, Transient

from . import campaigns, portfolio

log = logging.getLogger(__name__)

handlers = Handlers()
directory.register(handlers)


@handlers.handles(PortfolioReassigned)
async def portfolio_reassigned(session: AsyncSession, event: PortfolioReassigned, envelope: Envelope) -> None:
    """Every lead of the leaving person moves to the new owner (or whoever took the new
    owner's portfolio since: `crm_kit.handovers`), in this one transaction."""
    target = await handovers.record(session, event)
    try:
        moved = await portfolio.reassign(session, event.from_user_id, target, actor=envelope.actor)
    except portfolio.UnknownStaff as exc:
        # The new owner's UserRegistered travels on its own and may not be here yet.
        raise Transient(str(exc)) from exc
    log.info(
        "moved %d leads from %s to %s",
        moved,
        event.from_user_id,
        target,
        extra={"moved": moved},
    )


@handlers.handles(CampaignLaunched)
async def campaign_launched(session: AsyncSession, event: CampaignLaunched, envelope: Envelope) -> None:
    await campaigns.launched(session, event)
