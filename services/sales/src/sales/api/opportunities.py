"""Opportunities and the pipeline."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from crm_kit.auth import CurrentUser
from crm_kit.http import Page, Paging
from crm_kit.runtime import DbDep

from .. import domain, opportunities
from ..domain import OpportunityStage
from ..schemas import OpportunityOut, Pipeline, PipelineStage, StageMove
from .dependencies import SELLERS

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
    """A salesperson's own; managers see all."""
    async with db.transaction() as session:
        rows, total = await opportunities.list_opportunities(
            session, user, paging, stage=stage, customer_id=customer_id, owner_id=owner_id
        )
        return Page(items=[OpportunityOut.model_validate(o) for o in rows], total=total)


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


@router.get("/{opportunity_id}")
async def get_opportunity(opportunity_id: uuid.UUID, user: CurrentUser, db: DbDep) -> OpportunityOut:
    """One opportunity: a salesperson only their own (anyone else's is 'not found'), sales
    managers and admins any."""
    async with db.transaction() as session:
        return OpportunityOut.model_validate(
            await opportunities.get_opportunity(session, opportunity_id, user)
        )


@router.post("/{opportunity_id}/stage")
async def move_opportunity(
    opportunity_id: uuid.UUID, body: StageMove, user: CurrentUser, db: DbDep
) -> OpportunityOut:
    """Forward (skipping stages is fine), or lost with a reason; won and lost are final."""
    async with db.transaction() as session:
        return OpportunityOut.model_validate(
            await opportunities.move_opportunity(session, opportunity_id, body, user)
        )
