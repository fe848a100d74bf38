"""HTTP routes: parse, authorize, call the use case in one transaction, shape the answer.

Any error is raised inside the transaction, so a refused request changes nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, UploadFile, status
from sqlalchemy.ext.asyncio import AsyncSession

from crm_kit import audit, errors
from crm_kit.auth import CurrentUser, Role, User, require_roles
from crm_kit.http import Page, Paging
from crm_kit.runtime import DbDep

from . import campaigns, channels, regions, share, target_import, target_proposals, targets, volumes
from .domain import CampaignStatus, ChannelKind, Period
from .schemas import (
    AssignmentIn,
    AssignmentOut,
    AttainmentOut,
    AudienceMemberOut,
    CampaignCreate,
    CampaignOut,
    CampaignPatch,
    ChannelCreate,
    ChannelOut,
    ChannelPatch,
    CoverageIn,
    FormerProvinceOut,
    ImportReport,
    MarketShareOut,
    MarketVolumeCreate,
    MarketVolumeDetailOut,
    MarketVolumeOut,
    MarketVolumeRevise,
    RegionDetailOut,
    RegionGroupOut,
    RegionOut,
    ResolvedOut,
    RevisionOut,
    TargetCreate,
    TargetDetailOut,
    TargetOut,
    TargetProposalIn,
    TargetProposalOut,
    TargetRevise,
)

#: Who plans the market: channels, volumes, share, campaigns, targets.
PLANNERS = require_roles(Role.MARKETING, Role.SALES_MANAGER, Role.ADMIN)
Planner = Annotated[User, PLANNERS]
#: Who reads targets: the planners, and a salesperson their own.
TARGET_READERS = require_roles(Role.MARKETING, Role.SALES_MANAGER, Role.ADMIN, Role.SALESPERSON)

CodeQuery = Annotated[str | None, Query(min_length=1, max_length=100)]
ProductGroupQuery = Annotated[str | None, Query(min_length=1, max_length=100)]


def region_param(code: str | None) -> str | None:
    """A region filter: a code or a name, former or new, to the new code; 422 if none matches."""
    if code is None:
        return None
    resolved = regions.index().resolve(code)
    if resolved is None:
        raise errors.Invalid(f"no province matches {code!r}", code="region.no_match", params={"region": code})
    return resolved.region.code


def period_param(period: str) -> Period:
    return Period.parse(period)  # InvalidPeriod: 422 with the reason


def plan_period_param(period: str) -> Period:
    return Period.parse(period, months=True)  # InvalidPeriod: 422 with the reason


PlanPeriodQuery = Annotated[str, Query(max_length=10, description="2027, 2027-Q1 or 2027-03")]


# -- regions ----------------------------------------------------------------------------

regions_router = APIRouter(prefix="/api/regions", tags=["regions"])


@regions_router.get("", response_model=Page[RegionOut] | Page[RegionGroupOut])
async def list_regions(
    user: CurrentUser, grouping: regions.Grouping | None = None
) -> Page[RegionOut] | Page[RegionGroupOut]:
    """The 34 provinces and centrally-run cities since 1 July 2025; with `grouping`
    (`macro_region` or `socio_economic_region`), the groups with their provinces."""
    index = regions.index()
    all_regions = [RegionOut.model_validate(r, from_attributes=True) for r in index.regions.values()]
    if grouping is None:
        return Page[RegionOut](items=all_regions, total=len(all_regions))
    groups = [
        RegionGroupOut(
            grouping=g.grouping,
            code=g.code,
            name=g.name,
            name_ascii=g.name_ascii,
            name_en=g.name_en,
            regions=[r for r in all_regions if getattr(r, grouping) == g.code],
        )
        for g in index.groups.values()
        if g.grouping == grouping
    ]
    return Page[RegionGroupOut](items=groups, total=len(groups))


@regions_router.get("/resolve")
async def resolve_region(
    user: CurrentUser, q: Annotated[str, Query(min_length=1, max_length=100)]
) -> ResolvedOut:
    """A code or a name, former or new, with or without diacritics, to the province it is now."""
    resolved = regions.index().resolve(q)
    if resolved is None:
        raise errors.NotFound("province", q, message=f"no province matches {q!r}")
    return ResolvedOut(
        query=q,
        matched=resolved.matched,
        region=RegionOut.model_validate(resolved.region, from_attributes=True),
        former=FormerProvinceOut.model_validate(resolved.former, from_attributes=True)
        if resolved.former
        else None,
    )


@regions_router.get("/{code}")
async def get_region(code: str, user: CurrentUser) -> RegionDetailOut:
    """A province or centrally-run city by its current code, with the provinces before
    1 July 2025 it was formed from. From a name or a former code, `GET /api/regions/resolve`
    finds the current one."""
    index = regions.index()
    region = index.get(code)
    if region is None:
        raise errors.NotFound("region", code)
    former = [f for f in index.former.values() if f.region_code == code]
    return RegionDetailOut(
        **RegionOut.model_validate(region, from_attributes=True).model_dump(),
        former_provinces=[FormerProvinceOut.model_validate(f, from_attributes=True) for f in former],
    )


# -- channels ---------------------------------------------------------------------------

channels_router = APIRouter(prefix="/api/channels", tags=["channels"])


def channel_out(record: channels.ChannelRecord) -> ChannelOut:
    c = record.channel
    return ChannelOut(
        id=c.id,
        name=c.name,
        kind=c.kind,  # type: ignore[arg-type]
        parent_id=c.parent_id,
        active=c.active,
        region_codes=record.region_codes,
        assignments=[AssignmentOut.model_validate(a) for a in record.assignments],
        created_at=c.created_at,
        updated_at=c.updated_at,
    )


@channels_router.post("", status_code=status.HTTP_201_CREATED)
async def create_channel(body: ChannelCreate, user: Planner, db: DbDep) -> ChannelOut:
    """A new active channel, optionally selling through a parent channel and covering regions
    (current codes); its name must be new whatever the case and diacritics (409)."""
    async with db.transaction() as session:
        return channel_out(await channels.create(session, body, user))


@channels_router.get("")
async def list_channels(
    user: CurrentUser,
    db: DbDep,
    paging: Paging,
    kind: ChannelKind | None = None,
    active: bool | None = None,
    region_code: CodeQuery = None,
    parent_id: uuid.UUID | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> Page[ChannelOut]:
    """Channels by name, with the regions each covers and its salespeople; `region_code` takes
    a code or a name, former or new (422 if no province matches)."""
    region = region_param(region_code)
    async with db.transaction() as session:
        records, total = await channels.list_page(
            session, paging, kind=kind, active=active, region_code=region, parent_id=parent_id, q=q
        )
        return Page(items=[channel_out(r) for r in records], total=total)


@channels_router.get("/{channel_id}")
async def get_channel(channel_id: uuid.UUID, user: CurrentUser, db: DbDep) -> ChannelOut:
    """One channel, with the regions it covers and the salespeople assigned in each."""
    async with db.transaction() as session:
        return channel_out(await channels.get(session, channel_id))


@channels_router.patch("/{channel_id}", dependencies=[PLANNERS])
async def update_channel(
    channel_id: uuid.UUID, body: ChannelPatch, user: CurrentUser, db: DbDep
) -> ChannelOut:
    """Rename, move under another parent (`"parent_id": null` detaches it), deactivate or
    reactivate a channel. A new name must be free (409); a parent that already sells through
    this channel would make a loop (422)."""
    async with db.transaction() as session:
        return channel_out(await channels.update(session, channel_id, body, user))


@channels_router.put("/{channel_id}/coverage", dependencies=[PLANNERS])
async def set_coverage(channel_id: uuid.UUID, body: CoverageIn, user: CurrentUser, db: DbDep) -> ChannelOut:
    """Replace the regions the channel covers."""
    async with db.transaction() as session:
        return channel_out(await channels.set_coverage(session, channel_id, body.region_codes, user))


@channels_router.put("/{channel_id}/assignments", dependencies=[PLANNERS])
async def set_assignments(
    channel_id: uuid.UUID, body: list[AssignmentIn], user: CurrentUser, db: DbDep
) -> ChannelOut:
    """Replace the salespeople assigned to the channel, per region it covers."""
    if len(body) > 1000:
        raise errors.Invalid(
            "at most 1000 assignments", code="channel.too_many_assignments", params={"max_count": 1000}
        )
    async with db.transaction() as session:
        return channel_out(await channels.set_assignments(session, channel_id, body, user))


# -- market volumes ---------------------------------------------------------------------

volumes_router = APIRouter(prefix="/api/market-volumes", tags=["market volumes"], dependencies=[PLANNERS])


@volumes_router.post("", status_code=status.HTTP_201_CREATED)
async def create_volume(body: MarketVolumeCreate, user: CurrentUser, db: DbDep) -> MarketVolumeOut:
    """Estimate a region's market for a product group and period (one per such key)."""
    async with db.transaction() as session:
        return MarketVolumeOut.model_validate(await volumes.create(session, body, user))


@volumes_router.get("")
async def list_volumes(
    user: CurrentUser,
    db: DbDep,
    paging: Paging,
    period: Annotated[str | None, Query(max_length=10)] = None,
    region_code: CodeQuery = None,
    product_group: ProductGroupQuery = None,
) -> Page[MarketVolumeOut]:
    """Market volume estimates by period, region and product group; `region_code` takes a code
    or a name, former or new, and `period` a year (2026) or a quarter (2026-Q3)."""
    region = region_param(region_code)
    normal_period = str(period_param(period)) if period is not None else None
    async with db.transaction() as session:
        rows, total = await volumes.list_page(
            session, paging, period=normal_period, region_code=region, product_group=product_group
        )
        return Page(items=[MarketVolumeOut.model_validate(v) for v in rows], total=total)


@volumes_router.post("/import")
async def import_volumes(
    user: CurrentUser,
    db: DbDep,
    file: Annotated[UploadFile, File(description=".csv (UTF-8; , ; or tab) or .xlsx")],
) -> ImportReport:
    """Columns region_code (a code or name, former or new), product_group, period, amount,
    source, note. Every row is reported; a bad row never stops the good ones."""
    # One byte past the limit is enough to refuse the file (413) without reading it all.
    data = await file.read(volumes.MAX_IMPORT_BYTES + 1)
    # Parsed off the event loop and before a database connection is taken.
    parsed = await asyncio.to_thread(volumes.parsed, data, file.filename)
    async with db.transaction() as session:
        return await volumes.import_file(session, parsed, user)


@volumes_router.get("/{volume_id}")
async def get_volume(volume_id: uuid.UUID, user: CurrentUser, db: DbDep) -> MarketVolumeDetailOut:
    """One market volume estimate, with every value it had (its revisions, oldest first)."""
    async with db.transaction() as session:
        volume, history = await volumes.get(session, volume_id)
        return MarketVolumeDetailOut(
            **MarketVolumeOut.model_validate(volume).model_dump(),
            revisions=[RevisionOut.model_validate(r) for r in history],
        )


@volumes_router.put("/{volume_id}")
async def revise_volume(
    volume_id: uuid.UUID, body: MarketVolumeRevise, user: CurrentUser, db: DbDep
) -> MarketVolumeOut:
    """A new value for the estimate; the previous ones stay in its revisions."""
    async with db.transaction() as session:
        return MarketVolumeOut.model_validate(await volumes.revise(session, volume_id, body, user))


# -- market share -----------------------------------------------------------------------

share_router = APIRouter(prefix="/api/market-share", tags=["market share"], dependencies=[PLANNERS])


@share_router.get("")
async def market_share(
    db: DbDep,
    period: PlanPeriodQuery,
    region_code: CodeQuery = None,
    channel_id: uuid.UUID | None = None,
    product_group: ProductGroupQuery = None,
) -> MarketShareOut:
    """Revenue, market volume and share per region x channel in a year, quarter or month
    (a channel's revenue includes the channels selling through it), each channel's part
    of its province's revenue (`channel_mix`), the change against the previous period
    of the same length (a month's: the month before), and the regions with a market but
    no channel (white space). Revenue is that of the orders dated in the period, less
    credit notes; a month or quarter without a market volume estimate of its own takes
    its quarter's / 3, or its year's / 12 (a quarter: / 4)."""
    parsed = plan_period_param(period)
    region = region_param(region_code)
    async with db.transaction() as session:
        return await share.report(
            session, parsed, region_code=region, channel_id=channel_id, product_group=product_group
        )


# -- campaigns --------------------------------------------------------------------------

campaigns_router = APIRouter(prefix="/api/campaigns", tags=["campaigns"])


@campaigns_router.post("", status_code=status.HTTP_201_CREATED)
async def create_campaign(body: CampaignCreate, user: Planner, db: DbDep) -> CampaignOut:
    """A draft campaign; its audience is live until launch."""
    async with db.transaction() as session:
        campaign = await campaigns.create(session, body, user)
        return (await campaigns.describe(session, [campaign]))[0]


@campaigns_router.get("")
async def list_campaigns(
    user: CurrentUser, db: DbDep, paging: Paging, status: CampaignStatus | None = None
) -> Page[CampaignOut]:
    """Campaigns, the latest start first, with their audience size and results so far (leads,
    conversions, orders and revenue)."""
    async with db.transaction() as session:
        rows, total = await campaigns.list_page(session, paging, status=status)
        return Page(items=await campaigns.describe(session, rows), total=total)


@campaigns_router.get("/{campaign_id}")
async def get_campaign(campaign_id: uuid.UUID, user: CurrentUser, db: DbDep) -> CampaignOut:
    """One campaign, with its audience size (live for a draft, fixed at launch) and its results
    so far."""
    async with db.transaction() as session:
        return (await campaigns.describe(session, [await campaigns.get(session, campaign_id)]))[0]


@campaigns_router.patch("/{campaign_id}", dependencies=[PLANNERS])
async def update_campaign(
    campaign_id: uuid.UUID, body: CampaignPatch, user: CurrentUser, db: DbDep
) -> CampaignOut:
    """Change a draft's name, target or dates (a launched campaign is 409); its audience
    follows the new target until launch."""
    async with db.transaction() as session:
        campaign = await campaigns.update(session, campaign_id, body, user)
        return (await campaigns.describe(session, [campaign]))[0]


@campaigns_router.get("/{campaign_id}/audience")
async def campaign_audience(
    campaign_id: uuid.UUID, user: CurrentUser, db: DbDep, paging: Paging
) -> Page[AudienceMemberOut]:
    """The customers the campaign reaches (fixed at launch); a salesperson sees their own."""
    async with db.transaction() as session:
        items, total = await campaigns.audience_page(session, campaign_id, paging, user)
        return Page(items=items, total=total)


@campaigns_router.post("/{campaign_id}/launch")
async def launch_campaign(campaign_id: uuid.UUID, user: Planner, db: DbDep) -> CampaignOut:
    """Fix the audience and announce the campaign (`CampaignLaunched`)."""
    async with db.transaction() as session:
        campaign = await campaigns.launch(session, campaign_id, user)
        return (await campaigns.describe(session, [campaign]))[0]


# -- targets ----------------------------------------------------------------------------

targets_router = APIRouter(prefix="/api/targets", tags=["targets"], dependencies=[TARGET_READERS])


def target_filters(
    region_code: CodeQuery = None,
    channel_id: uuid.UUID | None = None,
    salesperson_id: uuid.UUID | None = None,
    product_group: ProductGroupQuery = None,
) -> targets.Filters:
    return targets.Filters(region_param(region_code), channel_id, salesperson_id, product_group)


TargetFilters = Annotated[targets.Filters, Depends(target_filters)]


@targets_router.post("", status_code=status.HTTP_201_CREATED, dependencies=[PLANNERS])
async def create_target(body: TargetCreate, user: CurrentUser, db: DbDep) -> TargetOut:
    """Set what a province should sell in a year, quarter or month (net of VAT), optionally
    for one channel (with the channels selling through it), one salesperson and one
    product group. One target per period and scope: another is 409 (revise that one).
    An unknown province or channel, or a salesperson who is unknown, deactivated or not
    in sales, is 422 naming the field."""
    async with db.transaction() as session:
        return TargetOut.model_validate(await targets.create(session, body, user))


@targets_router.post("/import", dependencies=[PLANNERS])
async def import_targets(
    user: CurrentUser,
    db: DbDep,
    file: Annotated[UploadFile, File(description=".csv (UTF-8; , ; or tab) or .xlsx")],
) -> ImportReport:
    """Set targets from a file. Columns: period (2027, 2027-Q1 or 2027-03), region_code (a
    province code or name, former or new), amount (whole dong, net of VAT; 1.500.000 is
    read as 1500000), and optionally channel_id (a channel's id or name), salesperson (a
    username or a user id) and product_group. A row whose period and scope have a target
    revises it (the old amount stays in its history); another row creates one. Every bad
    row is reported with its problems (the rules of `POST /api/targets`) and the good
    rows are kept. A file that cannot be read as a whole is 422 (413 past 2 MB)."""
    # One byte past the limit is enough to refuse the file (413) without reading it all.
    data = await file.read(target_import.MAX_IMPORT_BYTES + 1)
    # Parsed off the event loop and before a database connection is taken.
    parsed = await asyncio.to_thread(target_import.parsed, data, file.filename)
    async with db.transaction() as session:
        return await target_import.import_file(session, parsed, user)


@targets_router.post("/proposals", dependencies=[PLANNERS])
async def propose_targets(body: TargetProposalIn, user: CurrentUser, db: DbDep) -> TargetProposalOut:
    """Targets proposed from the market: for each province (all with a market volume, or
    those in `region_codes`) and product group (all, or `product_group`), the market
    volume of the period times `share` (0 < share <= 1), rounded to the dong. A month's
    or quarter's volume without an estimate of its own is its quarter's / 3 or its
    year's / 12 (a quarter: its year's / 4); a year's without one, the sum of its four
    quarters'. Nothing is written unless `accept` is true: then each proposal becomes a
    target (`created`, with its id), except where the scope has a target for the period
    already (`exists`, with that target's id, left as it is). A province without a
    market volume is `no_market_volume`."""
    async with db.transaction() as session:
        return await target_proposals.propose(session, body, user)


@targets_router.get("")
async def list_targets(
    user: CurrentUser,
    db: DbDep,
    paging: Paging,
    filters: TargetFilters,
    period: Annotated[str | None, Query(max_length=10, description="2027, 2027-Q1 or 2027-03")] = None,
) -> Page[TargetOut]:
    """Targets, newest period first; `period` picks one period exactly (no roll-up). A
    salesperson sees only the targets set for them."""
    wanted = plan_period_param(period) if period is not None else None
    async with db.transaction() as session:
        rows, total = await targets.list_page(session, paging, user, period=wanted, filters=filters)
        return Page(items=[TargetOut.model_validate(t) for t in rows], total=total)


@targets_router.get("/attainment")
async def target_attainment(
    user: CurrentUser, db: DbDep, filters: TargetFilters, period: PlanPeriodQuery
) -> AttainmentOut:
    """Plan against actual: each scope with a target in `period`, the target, the net
    revenue (without VAT) of the orders placed in the period in that scope, and
    `attainment = actual / target`. A period without a target of its own takes the sum
    of its quarters' (or months') targets. A salesperson sees their own targets only."""
    async with db.transaction() as session:
        return await targets.attainment(session, plan_period_param(period), filters, user)


@targets_router.get("/{target_id}")
async def get_target(target_id: uuid.UUID, user: CurrentUser, db: DbDep) -> TargetDetailOut:
    """One target with every amount it had: who set each, when, and the amount before."""
    async with db.transaction() as session:
        target, history = await targets.get(session, target_id, user)
        return TargetDetailOut(**TargetOut.model_validate(target).model_dump(), revisions=history)


@targets_router.patch("/{target_id}", dependencies=[PLANNERS])
async def revise_target(target_id: uuid.UUID, body: TargetRevise, user: CurrentUser, db: DbDep) -> TargetOut:
    """A new amount for the target; the old one stays in its history (the same amount
    again changes nothing)."""
    async with db.transaction() as session:
        return TargetOut.model_validate(await targets.revise(session, target_id, body.amount, user))


# -- audit trails -----------------------------------------------------------------------


async def _channel_exists(session: AsyncSession, channel_id: uuid.UUID, user: User) -> None:
    await channels.get(session, channel_id)


async def _campaign_exists(session: AsyncSession, campaign_id: uuid.UUID, user: User) -> None:
    await campaigns.get(session, campaign_id)


async def _target_exists(session: AsyncSession, target_id: uuid.UUID, user: User) -> None:
    await targets.get(session, target_id, user)


#: Who changed what, when: a channel (its details, coverage and salespeople), a campaign,
#: a target (a salesperson: their own).
STAFF = (Role.MARKETING, Role.SALES_MANAGER, Role.ADMIN, Role.SALESPERSON)
audit_routers = [
    audit.audit_router("channels", channels.AUDITED, roles=STAFF, exists=_channel_exists),
    audit.audit_router("campaigns", campaigns.AUDITED, roles=STAFF, exists=_campaign_exists),
    audit.audit_router("targets", targets.AUDITED, roles=STAFF, exists=_target_exists),
]

routers = [
    regions_router,
    channels_router,
    volumes_router,
    share_router,
    campaigns_router,
    *audit_routers,
    targets_router,
]
