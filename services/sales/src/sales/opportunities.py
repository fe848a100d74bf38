"""Opportunities: opened when a lead is qualified (LeadQualified) or, for repeat business,
for a customer sales knows (`create_opportunity`); moved forward through the stages by
their owner, won by an accepted quote or lost with a reason; the pipeline sums them per
stage and the forecast per month of their expected close date."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import LeadQualified
from crm_kit import errors, handovers
from crm_kit.auth import User
from crm_kit.http import PageParams
from crm_kit.queries import fetch_page, one_visible, visible_to

from . import domain
from .common import audit, utc_now, where_given
from .domain import AuditAction, Audited, OpportunityStage
from .models import Opportunity, SalesCustomer
from .schemas import OpportunityCreate, OpportunityOut, StageMove
from .settings import Settings


async def open_opportunity(session: AsyncSession, event: LeadQualified) -> None:
    """Open the opportunity the lead's conversion minted, once; for whoever took the
    owner's portfolio if they have left since (`crm_kit.handovers`)."""
    if event.opportunity_id is None:
        return
    await session.execute(
        insert(Opportunity)
        .values(
            id=event.opportunity_id,
            name=event.opportunity_name or event.name,
            customer_id=event.customer_id,
            lead_id=event.lead_id,
            owner_id=await handovers.successor(session, event.owner_id),
            expected_amount=event.expected_amount or 0,
            stage=OpportunityStage.QUALIFICATION,
            stage_changed_at=event.qualified_at,
        )
        .on_conflict_do_nothing(index_elements=[Opportunity.id])
    )


async def create_opportunity(
    session: AsyncSession, body: OpportunityCreate, user: User, settings: Settings
) -> Opportunity:
    """Repeat business: an opportunity for a customer sales knows (a prospect or a
    traditional customer the caller may see), with no lead. It is the customer's owner's
    (a manager may open one for anyone's customer), audited as created."""
    from .quotes import _quotable_customer  # quotes imports this module

    # A customer created a moment ago is waited for, as for a quote (503 past the wait).
    customer = await _quotable_customer(session, body.customer_id, user, settings)
    owner_id = customer.owner_id or user.id
    opportunity = Opportunity(
        id=uuid.uuid4(),
        name=body.name.strip(),
        customer_id=customer.id,
        owner_id=await handovers.successor(session, owner_id),
        expected_amount=body.expected_amount,
        expected_close_on=body.expected_close_on,
        stage=OpportunityStage.QUALIFICATION,
        stage_changed_at=utc_now(),
    )
    session.add(opportunity)
    await session.flush()
    changes: dict[str, Any] = {
        "name": opportunity.name,
        "customer_id": str(customer.id),
        "expected_amount": body.expected_amount,
    }
    if body.expected_close_on:
        changes["expected_close_on"] = body.expected_close_on.isoformat()
    await audit(session, Audited.OPPORTUNITY, opportunity.id, AuditAction.CREATED, user.id, changes)
    return opportunity


async def forecast(
    session: AsyncSession, user: User, first: date, last: date, owner_id: uuid.UUID | None = None
) -> tuple[list[tuple[date, int, int, int]], tuple[int, int]]:
    """Open opportunities expected to close from `first` to `last`, per month: (month,
    count, amount, weighted amount); and (count, amount) of the open ones with no date."""
    if not user.sees_all:
        owner_id = user.id
    month = func.date_trunc("month", Opportunity.expected_close_on)
    still_open = Opportunity.stage.not_in([s.value for s in domain.CLOSED_STAGES])
    mine = [Opportunity.owner_id == owner_id] if owner_id is not None else []
    rows = await session.execute(
        select(
            month, Opportunity.stage, func.count(), func.coalesce(func.sum(Opportunity.expected_amount), 0)
        )
        .where(still_open, Opportunity.expected_close_on.between(first, last), *mine)
        .group_by(month, Opportunity.stage)
        .order_by(month)
    )
    months: dict[date, list[int]] = {}
    for starts, stage, count, amount in rows:
        totals = months.setdefault(starts.date(), [0, 0, 0])
        totals[0] += int(count)
        totals[1] += int(amount)
        totals[2] += domain.weighted_amount(OpportunityStage(stage), int(amount))
    undated = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(Opportunity.expected_amount), 0)).where(
                still_open, Opportunity.expected_close_on.is_(None), *mine
            )
        )
    ).one()
    by_month = [(m, count, amount, weighted) for m, (count, amount, weighted) in months.items()]
    return by_month, (int(undated[0]), int(undated[1]))


async def named(session: AsyncSession, opportunities: list[Opportunity]) -> list[dict[str, Any]]:
    """The opportunities with their customers' names (one query for the page)."""
    ids = {o.customer_id for o in opportunities}
    names = dict(
        (
            await session.execute(
                select(SalesCustomer.id, SalesCustomer.name).where(SalesCustomer.id.in_(ids))
            )
        ).all()
        if ids
        else []
    )
    return [
        {**OpportunityOut.model_validate(o).model_dump(), "customer_name": names.get(o.customer_id)}
        for o in opportunities
    ]


async def _opportunity(
    session: AsyncSession, opportunity_id: uuid.UUID, user: User, *, lock: bool = False
) -> Opportunity:
    stmt = select(Opportunity).where(Opportunity.id == opportunity_id)
    opportunity: Opportunity = await one_visible(
        session, stmt, user, kind="opportunity", key=opportunity_id, lock=lock
    )
    return opportunity


async def get_opportunity(session: AsyncSession, opportunity_id: uuid.UUID, user: User) -> Opportunity:
    return await _opportunity(session, opportunity_id, user)


async def list_opportunities(
    session: AsyncSession,
    user: User,
    page: PageParams,
    *,
    stage: OpportunityStage | None = None,
    customer_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
) -> tuple[list[Opportunity], int]:
    stmt = where_given(
        visible_to(select(Opportunity), Opportunity.owner_id, user),
        (Opportunity.stage, stage),
        (Opportunity.customer_id, customer_id),
        (Opportunity.owner_id, owner_id),
    )
    return await fetch_page(session, stmt, page, Opportunity.created_at.desc(), Opportunity.id)


async def move_opportunity(
    session: AsyncSession, opportunity_id: uuid.UUID, body: StageMove, user: User
) -> Opportunity:
    opportunity = await _opportunity(session, opportunity_id, user, lock=True)
    current = OpportunityStage(opportunity.stage)
    try:
        domain.stage_move(current, body.stage, body.lost_reason)
    except ValueError as exc:
        raise errors.Invalid(
            str(exc), code=getattr(exc, "type", "invalid"), params=getattr(exc, "context", None)
        ) from exc
    await set_stage(session, opportunity, body.stage, user.id, lost_reason=body.lost_reason)
    return opportunity


async def set_stage(
    session: AsyncSession,
    opportunity: Opportunity,
    stage: OpportunityStage,
    actor_id: uuid.UUID | None,
    *,
    lost_reason: str | None = None,
    won_quote_id: uuid.UUID | None = None,
) -> None:
    before = opportunity.stage
    now = utc_now()
    opportunity.stage = stage
    opportunity.stage_changed_at = now
    opportunity.lost_reason = lost_reason
    if won_quote_id is not None:
        opportunity.won_quote_id = won_quote_id
    if stage in domain.CLOSED_STAGES:
        opportunity.closed_at = now
    changes: dict[str, Any] = {"stage": [before, stage.value]}
    if lost_reason:
        changes["lost_reason"] = lost_reason
    if won_quote_id:
        changes["won_quote_id"] = str(won_quote_id)
    await audit(session, Audited.OPPORTUNITY, opportunity.id, AuditAction.STAGE_CHANGED, actor_id, changes)


async def pipeline(
    session: AsyncSession, user: User, owner_id: uuid.UUID | None = None
) -> list[tuple[OpportunityStage, int, int]]:
    """(stage, count, expected amount) for every stage, zero where there is none."""
    if not user.sees_all:
        owner_id = user.id
    stmt = select(
        Opportunity.stage, func.count(), func.coalesce(func.sum(Opportunity.expected_amount), 0)
    ).group_by(Opportunity.stage)
    if owner_id is not None:
        stmt = stmt.where(Opportunity.owner_id == owner_id)
    found = {row[0]: (int(row[1]), int(row[2])) for row in await session.execute(stmt)}
    return [(stage, *found.get(stage.value, (0, 0))) for stage in OpportunityStage]
