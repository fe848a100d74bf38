"""Use cases of campaigns: target, audience (from marketing's own customer read model),
launch, and results (leads, conversions, orders and revenue they brought)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Uuid, and_, exists, false, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import CampaignLaunched
from crm_kit import audit, errors, outbox
from crm_kit.auth import User
from crm_kit.customer_copy import known_customers
from crm_kit.http import PageParams
from crm_kit.queries import fetch_page, fetch_rows_page, visible_to

from . import domain, regions
from .channels import parent_map
from .domain import CampaignStatus, LeadOutcome, LifecycleStage
from .models import Campaign, CampaignMember, Channel, LeadFact, RevenueFact
from .schemas import AudienceMemberOut, CampaignCreate, CampaignOut, CampaignPatch, CampaignTarget

#: Marketing's copy of the customers, kept from customer events only (`crm_kit.customer_copy`):
#: audiences are computed from it; marketing never reads the customers database.
_KNOWN = known_customers.c
#: The audit trail's name of a campaign.
AUDITED = "campaign"


@dataclass(frozen=True)
class Results:
    leads: int = 0
    conversions: int = 0
    disqualified: int = 0
    orders: int = 0
    revenue: int = 0


async def create(session: AsyncSession, body: CampaignCreate, user: User) -> Campaign:
    await _check_target(session, body.target)
    campaign = Campaign(
        id=uuid.uuid4(),
        name=body.name,
        status=CampaignStatus.DRAFT,
        target=body.target.model_dump(mode="json"),
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        created_by=user.id,
    )
    session.add(campaign)
    await session.flush()
    await audit.record(session, AUDITED, campaign.id, "created", user.id, {}, _audited(campaign))
    return campaign


async def update(session: AsyncSession, campaign_id: uuid.UUID, body: CampaignPatch, user: User) -> Campaign:
    campaign = await _get(session, campaign_id, lock=True)
    if campaign.status != CampaignStatus.DRAFT:
        raise errors.Conflict(
            f"campaign {campaign_id} is {campaign.status}: only a draft changes",
            code="campaign.not_draft",
            params={"status": str(campaign.status)},
        )
    before = _audited(campaign)
    if body.target is not None:
        await _check_target(session, body.target)
        campaign.target = body.target.model_dump(mode="json")
    if body.name is not None:
        campaign.name = body.name
    starts_on = body.starts_on or campaign.starts_on
    ends_on = body.ends_on or campaign.ends_on
    if ends_on < starts_on:
        raise errors.Invalid(
            f"ends_on {ends_on} is before starts_on {starts_on}",
            code="campaign.ends_before_start",
            params={"starts_on": starts_on, "ends_on": ends_on},
        )
    campaign.starts_on, campaign.ends_on = starts_on, ends_on
    await session.flush()
    await audit.record(session, AUDITED, campaign.id, "edited", user.id, before, _audited(campaign))
    return campaign


def _audited(campaign: Campaign) -> dict[str, object]:
    return {
        "name": campaign.name,
        "target": campaign.target,
        "starts_on": campaign.starts_on,
        "ends_on": campaign.ends_on,
        "status": campaign.status,
    }


async def get(session: AsyncSession, campaign_id: uuid.UUID) -> Campaign:
    return await _get(session, campaign_id)


async def list_page(
    session: AsyncSession, page: PageParams, *, status: str | None = None
) -> tuple[list[Campaign], int]:
    stmt = select(Campaign)
    if status is not None:
        stmt = stmt.where(Campaign.status == status)
    return await fetch_page(session, stmt, page, Campaign.starts_on.desc(), Campaign.created_at.desc())


async def launch(session: AsyncSession, campaign_id: uuid.UUID, user: User) -> Campaign:
    """Fix the audience as it is now and announce the campaign (`CampaignLaunched`)."""
    campaign = await _get(session, campaign_id, lock=True)
    if campaign.status != CampaignStatus.DRAFT:
        raise errors.Conflict(
            f"campaign {campaign_id} was launched already", code="campaign.launched_already", params={}
        )
    audience = (await _audience(session, _target(campaign))).with_only_columns(
        literal(campaign.id, type_=Uuid), _KNOWN.customer_id
    )
    await session.execute(
        insert(CampaignMember).from_select([CampaignMember.campaign_id, CampaignMember.customer_id], audience)
    )
    size = await session.scalar(
        select(func.count()).select_from(CampaignMember).where(CampaignMember.campaign_id == campaign.id)
    )
    now = datetime.now(UTC)
    campaign.status = CampaignStatus.LAUNCHED
    campaign.audience_size = int(size or 0)
    campaign.launched_by = user.id
    campaign.launched_at = now
    await session.flush()
    await audit.record(
        session,
        AUDITED,
        campaign.id,
        "launched",
        user.id,
        {"status": CampaignStatus.DRAFT},
        {"status": campaign.status, "audience_size": campaign.audience_size},
    )
    await outbox.emit(
        session,
        CampaignLaunched(
            campaign_id=campaign.id,
            name=campaign.name,
            starts_on=campaign.starts_on,
            ends_on=campaign.ends_on,
            audience_size=campaign.audience_size,
            launched_by=user.id,
            launched_at=now,
        ),
        actor=user.id,
    )
    return campaign


async def audience_page(
    session: AsyncSession, campaign_id: uuid.UUID, page: PageParams, user: User
) -> tuple[list[AudienceMemberOut], int]:
    """The customers a campaign reaches (its members since launch); a salesperson sees
    only their own among them."""
    campaign = await _get(session, campaign_id)
    if campaign.status == CampaignStatus.DRAFT:
        stmt = await _audience(session, _target(campaign))
    else:
        stmt = select(known_customers).where(
            exists().where(
                CampaignMember.campaign_id == campaign.id,
                CampaignMember.customer_id == _KNOWN.customer_id,
            )
        )
    stmt = visible_to(stmt, _KNOWN.owner_id, user)
    profiles, total = await fetch_rows_page(session, stmt, page, _KNOWN.name, _KNOWN.customer_id)
    index = regions.index()
    items = []
    for p in profiles:
        code = index.current_code(p.region_code)
        region = index.get(code) if code else None
        items.append(
            AudienceMemberOut(
                customer_id=p.customer_id,
                name=p.name,
                lifecycle_stage=p.lifecycle_stage,
                grade=p.grade,
                region_code=code or p.region_code,
                region_name=region.name if region else None,
                channel_id=p.channel_id,
                owner_id=p.owner_id,
            )
        )
    return items, total


async def describe(session: AsyncSession, campaigns: Sequence[Campaign]) -> list[CampaignOut]:
    """The campaigns with their audience size and results."""
    results = await _results(session, [c.id for c in campaigns])
    described = []
    for c in campaigns:
        r = results.get(c.id, Results())
        size = c.audience_size
        if size is None:
            size = await session.scalar(
                select(func.count()).select_from((await _audience(session, _target(c))).subquery())
            )
        described.append(
            CampaignOut(
                id=c.id,
                name=c.name,
                status=CampaignStatus(c.status),
                target=_target(c),
                starts_on=c.starts_on,
                ends_on=c.ends_on,
                audience_size=int(size or 0),
                leads=r.leads,
                conversions=r.conversions,
                disqualified=r.disqualified,
                conversion_rate=r.conversions / r.leads if r.leads else None,
                orders=r.orders,
                revenue=r.revenue,
                created_by=c.created_by,
                created_at=c.created_at,
                launched_by=c.launched_by,
                launched_at=c.launched_at,
            )
        )
    return described


# -- helpers ----------------------------------------------------------------------------


async def _get(session: AsyncSession, campaign_id: uuid.UUID, *, lock: bool = False) -> Campaign:
    campaign = await session.get(Campaign, campaign_id, with_for_update=lock)
    if campaign is None:
        raise errors.NotFound("campaign", campaign_id)
    return campaign


def _target(campaign: Campaign) -> CampaignTarget:
    return CampaignTarget.model_validate(campaign.target)


async def _check_target(session: AsyncSession, target: CampaignTarget) -> None:
    index = regions.index()
    problems = []
    missing: list[str] = []
    unknown = index.unknown_codes(target.region_codes)
    if unknown:
        problems.append(f"unknown region codes: {index.describe_unknown(unknown)}")
    unknown_groups = [g for g in target.macro_regions if g not in index.groups]
    if unknown_groups:
        problems.append(
            f"unknown macro regions: {', '.join(unknown_groups)} (known: {', '.join(index.groups)})"
        )
    if target.channel_ids:
        known = set(
            (await session.scalars(select(Channel.id).where(Channel.id.in_(target.channel_ids)))).all()
        )
        missing = [str(c) for c in target.channel_ids if c not in known]
        if missing:
            problems.append(f"unknown channels: {', '.join(missing)}")
    if problems:
        raise errors.Invalid(
            "; ".join(problems),
            code="campaign.target_unknown",
            params={"regions": unknown, "macro_regions": unknown_groups, "channels": missing},
        )


async def _audience(session: AsyncSession, target: CampaignTarget) -> Select[Any]:
    """The customers matching `target` now. Stored region codes may be former ones, so a
    region filter matches the former codes that mean the same province. A deactivated
    customer is left out unless the target asks for inactive customers by name."""
    index = regions.index()
    conditions: list[ColumnElement[bool]] = []
    if target.grades:
        conditions.append(func.upper(_KNOWN.grade).in_([g.upper() for g in target.grades]))
    if target.lifecycle_stages:
        conditions.append(_KNOWN.lifecycle_stage.in_(target.lifecycle_stages))
    else:
        conditions.append(_KNOWN.lifecycle_stage != LifecycleStage.INACTIVE)
    if target.region_codes or target.macro_regions:
        wanted = set(target.region_codes) if target.region_codes else set(index.regions)
        if target.macro_regions:
            wanted &= index.in_groups(target.macro_regions)
        codes = index.codes_meaning(wanted)
        conditions.append(_KNOWN.region_code.in_(codes) if codes else false())
    if target.channel_ids:
        channels = domain.descendants_and_self(target.channel_ids, await parent_map(session))
        conditions.append(_KNOWN.channel_id.in_(channels))
    return select(known_customers).where(*conditions)


async def _results(session: AsyncSession, campaign_ids: list[uuid.UUID]) -> dict[uuid.UUID, Results]:
    if not campaign_ids:
        return {}
    leads: dict[uuid.UUID, tuple[int, int, int]] = {}
    for campaign_id, total, qualified, disqualified in await session.execute(
        select(
            LeadFact.campaign_id,
            func.count(),
            func.count().filter(LeadFact.outcome == LeadOutcome.QUALIFIED),
            func.count().filter(LeadFact.outcome == LeadOutcome.DISQUALIFIED),
        )
        .where(LeadFact.campaign_id.in_(campaign_ids))
        .group_by(LeadFact.campaign_id)
    ):
        if campaign_id is not None:
            leads[campaign_id] = (total, qualified, disqualified)
    # Orders of the customers the campaign's leads became, from the campaign's start on;
    # EXISTS (not a join) so two leads that became one customer do not count twice.
    came_from_campaign = exists().where(
        LeadFact.campaign_id == Campaign.id, LeadFact.customer_id == RevenueFact.customer_id
    )
    orders: dict[uuid.UUID, tuple[int, int]] = {
        campaign_id: (int(count), int(amount or 0))
        for campaign_id, count, amount in (
            await session.execute(
                select(
                    Campaign.id,
                    func.count(func.distinct(RevenueFact.order_id)),
                    func.sum(RevenueFact.net_amount),
                )
                .join(RevenueFact, and_(RevenueFact.order_date >= Campaign.starts_on, came_from_campaign))
                .where(Campaign.id.in_(campaign_ids))
                .group_by(Campaign.id)
            )
        )
    }
    return {
        campaign_id: Results(
            leads=leads.get(campaign_id, (0, 0, 0))[0],
            conversions=leads.get(campaign_id, (0, 0, 0))[1],
            disqualified=leads.get(campaign_id, (0, 0, 0))[2],
            orders=orders.get(campaign_id, (0, 0))[0],
            revenue=orders.get(campaign_id, (0, 0))[1],
        )
        for campaign_id in campaign_ids
    }
