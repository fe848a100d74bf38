"""Opportunities and the pipeline."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status

from crm_kit import errors
from crm_kit.auth import CurrentUser
from crm_kit.http import Page, Paging
from crm_kit.runtime import DbDep

from .. import domain, opportunities
from ..domain import OpportunityStage
from ..schemas import (
    Forecast,
    ForecastMonth,
    OpportunityCreate,
    OpportunityOut,
    Pipeline,
    PipelineStage,
    StageMove,
)
from .dependencies import NOT_YET, SELLERS, SettingsDep

router = APIRouter(prefix="/api/opportunities", tags=["opportunities"], dependencies=[SELLERS])


@router.get("")
async def list_opportunities(
    user: CurrentUser,
    db: DbDep,
    paging: Paging,
    stage: OpportunityStage | None = None,
    customer_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
) -> Page[OpportunityOut]:
    """A salesperson's own; managers see all. Each with its customer's name."""
    async with db.transaction() as session:
        rows, total = await opportunities.list_opportunities(
            session, user, paging, stage=stage, customer_id=customer_id, owner_id=owner_id
        )
        named = await opportunities.named(session, rows)
        return Page(items=[OpportunityOut.model_validate(o) for o in named], total=total)


@router.get("/pipeline")
async def pipeline(user: CurrentUser, db: DbDep, owner_id: uuid.UUID | None = None) -> Pipeline:
    """Per stage: how many, their expected amount, and that amount weighted by the stage's probability."""
    async with db.transaction() as session:
        found = await opportunities.pipeline(session, user, owner_id)
    stages = [
        PipelineStage(
            stage=stage,
            probability_pct=domain.STAGE_PROBABILITY_PCT[stage],
            count=count,
            amount=amount,
            weighted_amount=domain.weighted_amount(stage, amount),
        )
        for stage, count, amount in found
    ]
    open_stages = [s for s in stages if s.stage not in domain.CLOSED_STAGES]
    return Pipeline(
        stages=stages,
        open_count=sum(s.count for s in open_stages),
        open_amount=sum(s.amount for s in open_stages),
        weighted_total=sum(s.weighted_amount for s in open_stages),
    )


@router.post("", status_code=status.HTTP_201_CREATED, responses=NOT_YET)
async def create_opportunity(
    body: OpportunityCreate, user: CurrentUser, db: DbDep, settings: SettingsDep
) -> OpportunityOut:
    """Repeat business: an opportunity for a prospect or traditional customer sales knows,
    without a new lead (a salesperson for their own customers; managers for anyone's).
    It starts in qualification and belongs to the customer's owner. 422 for someone
    else's customer or an inactive one; 503 with Retry-After for one sales has not heard
    of after a short wait (created a moment ago, or not at all)."""
    async with db.transaction() as session:
        made = await opportunities.create_opportunity(session, body, user, settings)
        return OpportunityOut.model_validate((await opportunities.named(session, [made]))[0])


@router.get("/forecast")
async def forecast(
    user: CurrentUser,
    db: DbDep,
    settings: SettingsDep,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
    owner_id: uuid.UUID | None = None,
) -> Forecast:
    """Open opportunities by the month they are expected to close in, from `from` (default:
    this month) to `to` (default: twelve months on, at most 36): how many, their expected
    amount and that amount weighted by each one's stage; open ones with no date apart. A
    salesperson sees their own."""
    today = settings.today()  # the business's calendar, not the server's
    first = (from_ or today).replace(day=1)
    last = to or date(first.year + 1, first.month, 1)
    if last < first:
        raise errors.Invalid("`to` is before `from`", code="dates.to_before_from")
    if (last.year - first.year) * 12 + last.month - first.month > 36:
        raise errors.Invalid(
            "a forecast spans at most 36 months", code="forecast.too_long", params={"months": 36}
        )
    async with db.transaction() as session:
        months, (undated_count, undated_amount) = await opportunities.forecast(
            session, user, first, last, owner_id
        )
    return Forecast(
        months=[ForecastMonth(month=m, count=c, amount=a, weighted_amount=w) for m, c, a, w in months],
        undated_count=undated_count,
        undated_amount=undated_amount,
    )


@router.get("/{opportunity_id}")
async def get_opportunity(opportunity_id: uuid.UUID, user: CurrentUser, db: DbDep) -> OpportunityOut:
    """One opportunity: a salesperson only their own (anyone else's is 'not found'), sales
    managers and admins any."""
    async with db.transaction() as session:
        found = await opportunities.get_opportunity(session, opportunity_id, user)
        return OpportunityOut.model_validate((await opportunities.named(session, [found]))[0])


@router.post("/{opportunity_id}/stage")
async def move_opportunity(
    opportunity_id: uuid.UUID, body: StageMove, user: CurrentUser, db: DbDep
) -> OpportunityOut:
    """Forward (skipping stages is fine), or lost with a reason; won and lost are final."""
    async with db.transaction() as session:
        return OpportunityOut.model_validate(
            await opportunities.move_opportunity(session, opportunity_id, body, user)
        )
