"""Offboarding: a leaving member of staff's open opportunities and quotes go to whoever
takes over their portfolio (PortfolioReassigned); customers follow CustomerReassigned."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import PortfolioReassigned
from crm_kit import handovers

from . import domain
from .common import utc_now
from .models import AuditEntry, Opportunity, Quote, SalesCustomer

log = logging.getLogger(__name__)


def _open_opportunity() -> ColumnElement[bool]:
    return Opportunity.stage.not_in([s.value for s in domain.CLOSED_STAGES])


def _open_quote() -> ColumnElement[bool]:
    return Quote.status.in_([s.value for s in domain.OPEN_QUOTE_STATUSES])


async def reassign_portfolio(
    session: AsyncSession, event: PortfolioReassigned, actor: uuid.UUID | None
) -> dict[str, int]:
    """Hand the leaving person's open opportunities and open quotes to the new owner (or
    whoever took the new owner's portfolio since: `crm_kit.handovers`), in one
    transaction, auditing every move. Customers follow CustomerReassigned."""
    target = await handovers.record(session, event)
    moved_opportunities = await _hand_over(session, Opportunity, _open_opportunity(), event, owner_id=target)
    moved_quotes = await _hand_over(
        session, Quote, _open_quote(), event, owner_id=target, updated_at=utc_now()
    )
    change = {"owner_id": [str(event.from_user_id), str(target)]}
    session.add_all(
        AuditEntry(
            entity=entity,
            entity_id=entity_id,
            action="reassigned",
            actor_id=actor,
            changes=change,
            at=event.reassigned_at,
        )
        for entity, ids in (("opportunity", moved_opportunities), ("quote", moved_quotes))
        for entity_id in ids
    )
    log.info(
        "portfolio of %s handed to %s: %d opportunities, %d quotes",
        event.from_user_id,
        target,
        len(moved_opportunities),
        len(moved_quotes),
    )
    return {"opportunities": len(moved_opportunities), "open_quotes": len(moved_quotes)}


async def _hand_over(
    session: AsyncSession,
    model: type[Opportunity] | type[Quote],
    still_open: ColumnElement[bool],
    event: PortfolioReassigned,
    **values: Any,
) -> list[uuid.UUID]:
    """The ids of the leaving person's open records of `model`, now set to `values`."""
    moved = await session.execute(
        update(model)
        .where(model.owner_id == event.from_user_id, still_open)
        .values(**values)
        .returning(model.id)
        .execution_options(synchronize_session=False)
    )
    return list(moved.scalars().all())


async def holdings(session: AsyncSession, user_id: uuid.UUID) -> dict[str, int]:
    """What sales still holds for a member of staff: zero everywhere after a hand-over."""
    customers = await session.scalar(select(func.count()).where(SalesCustomer.owner_id == user_id))
    opportunities = await session.scalar(
        select(func.count()).where(Opportunity.owner_id == user_id, _open_opportunity())
    )
    quotes = await session.scalar(select(func.count()).where(Quote.owner_id == user_id, _open_quote()))
    return {
        "customers": int(customers or 0),
        "opportunities": int(opportunities or 0),
        "open_quotes": int(quotes or 0),
    }
