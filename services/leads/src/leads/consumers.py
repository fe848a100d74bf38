"""Events the leads service reacts to: staff joining and leaving (the kit's directory),
portfolio hand-overs, and the customers a lead may be converted onto (the kit's
customer copy)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import (
    CampaignLaunched,
    CustomerPromotedToTraditional,
    CustomerRegistered,
    Envelope,
    PortfolioReassigned,
)
from crm_kit import customer_copy, directory, handovers
from crm_kit.customer_copy import Fact
from crm_kit.handlers import Handlers, Transient

from . import campaigns, portfolio

log = logging.getLogger(__name__)

handlers = Handlers()
directory.register(handlers)
#: The customers a lead may be converted onto (`lifecycle.convert` with a customer_id).
customer_copy.register(handlers)


@handlers.handles_many(CustomerRegistered)
async def customers_registered(
    session: AsyncSession, registrations: Sequence[tuple[CustomerRegistered, Envelope]]
) -> None:
    """Registrations that arrived together (an import sends thousands), in one statement."""
    await customer_copy.record(
        session, [Fact.of_registration(e, env.occurred_at) for e, env in registrations]
    )


@handlers.handles_many(CustomerPromotedToTraditional)
async def customers_promoted(
    session: AsyncSession, promotions: Sequence[tuple[CustomerPromotedToTraditional, Envelope]]
) -> None:
    """Promotions that arrived together, in one statement (every promotion comes here
    too: at 200/s, one by one, they cost leads more CPU than sales' own handling)."""
    await customer_copy.record(session, [Fact.of_promotion(e) for e, _ in promotions])


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
