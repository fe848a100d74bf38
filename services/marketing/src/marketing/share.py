"""The market-share report: revenue per region x channel against the market's size, per
year, quarter or month, with each channel's part of its province's revenue (channel mix)."""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_kit import errors

from . import domain, regions, volumes
from .channels import parent_map
from .domain import Period, RegionChannel
from .models import Channel, ChannelRegion, RevenueMonth
from .schemas import MarketShareOut, MarketShareRow, WhiteSpaceRow


async def report(
    session: AsyncSession,
    period: Period,
    *,
    region_code: str | None = None,
    channel_id: uuid.UUID | None = None,
    product_group: str | None = None,
) -> MarketShareOut:
    """Revenue per region x channel in `period` (a channel's includes every channel selling
    through it), its part of the region's revenue (channel mix), the region's market
    volume (for `product_group`, or summed over all groups; a month's or quarter's from
    its quarter's or year's when it has no estimate of its own), the share, and the
    change against the period before; plus the regions with a market but no active
    channel covering them (white space)."""
    index = regions.index()
    if channel_id is not None and await session.get(Channel, channel_id) is None:
        raise errors.NotFound("channel", channel_id)
    previous = period.previous()
    parents = await parent_map(session)
    names = dict((await session.execute(select(Channel.id, Channel.name))).all())
    sold = await _revenue(session, period, product_group)
    revenue = domain.roll_up(sold, parents)
    revenue_before = domain.roll_up(await _revenue(session, previous, product_group), parents)
    volume = await _volumes(session, period, product_group)
    volume_before = await _volumes(session, previous, product_group)
    covered = await _coverage(session)
    totals = _region_totals(sold)

    keys: set[RegionChannel] = set(revenue) | set(revenue_before) | covered
    if region_code is not None:
        keys = {k for k in keys if k[0] == region_code}
    if channel_id is not None:
        keys = {k for k in keys if k[1] == channel_id}

    rows = sorted(
        (_row(index, key, names, (revenue, revenue_before), (volume, volume_before), totals) for key in keys),
        key=lambda r: (r.region_code, r.channel_name is None, (r.channel_name or "").lower()),
    )

    covered_regions = {region for region, _ in covered}
    white_space = [
        WhiteSpaceRow(region_code=region, region_name=_name(index, region), market_volume=amount)
        for region, amount in sorted(volume.items())
        if amount and region not in covered_regions and region_code in (None, region)
    ]
    return MarketShareOut(
        period=str(period),
        previous_period=str(previous),
        product_group=product_group,
        rows=rows,
        white_space=white_space,
    )


def _row(
    index: regions.RegionIndex,
    key: RegionChannel,
    names: dict[uuid.UUID, str],
    revenues: tuple[dict[RegionChannel, int], dict[RegionChannel, int]],
    volumes: tuple[dict[str, int], dict[str, int]],
    totals: dict[str, int],
) -> MarketShareRow:
    """One region x channel: its revenue, its part of the region's, and its share now and
    in the period before."""
    region, channel = key
    (revenue, revenue_before), (volume, volume_before) = revenues, volumes
    amount, amount_before = revenue.get(key, 0), revenue_before.get(key, 0)
    region_revenue = totals.get(region, 0)
    share = domain.share(amount, volume.get(region))
    share_before = domain.share(amount_before, volume_before.get(region))
    return MarketShareRow(
        region_code=region,
        region_name=_name(index, region),
        channel_id=channel,
        channel_name=names.get(channel) if channel is not None else None,
        revenue=amount,
        region_revenue=region_revenue,
        channel_mix=domain.part_of(amount, region_revenue),
        market_volume=volume.get(region),
        share=share,
        previous_revenue=amount_before,
        previous_market_volume=volume_before.get(region),
        previous_share=share_before,
        share_change=domain.change(share, share_before),
    )


async def _revenue(
    session: AsyncSession, period: Period, product_group: str | None
) -> dict[RegionChannel, int]:
    """Net revenue (less credit notes) of the lines dated in `period`, per region and the
    channel that sold it (not rolled up), from the monthly summary of the facts (a period
    is whole months); a pair whose lines add up to nothing (cancelled) is there at 0."""
    stmt = (
        select(RevenueMonth.region_code, RevenueMonth.channel_id, func.sum(RevenueMonth.net_amount))
        .where(
            RevenueMonth.month >= period.start,
            RevenueMonth.month < period.end,
            RevenueMonth.region_code.is_not(None),
        )
        .group_by(RevenueMonth.region_code, RevenueMonth.channel_id)
    )
    if product_group is not None:
        stmt = stmt.where(RevenueMonth.product_group == product_group)
    return {(str(region), channel): int(amount) for region, channel, amount in (await session.execute(stmt))}


def _region_totals(sold: dict[RegionChannel, int]) -> dict[str, int]:
    """Each region's revenue over every channel (and none), each sale counted once."""
    totals: dict[str, int] = defaultdict(int)
    for (region, _), amount in sold.items():
        totals[region] += amount
    return totals


async def _volumes(session: AsyncSession, period: Period, product_group: str | None) -> dict[str, int]:
    """Each region's market volume in `period`, summed over the product groups that have one."""
    totals: dict[str, int] = defaultdict(int)
    for (region, _), volume in (
        await volumes.of_period(session, period, product_group=product_group)
    ).items():
        totals[region] += volume.amount
    return dict(totals)


async def _coverage(session: AsyncSession) -> set[RegionChannel]:
    """Region x channel pairs that active channels cover."""
    rows = await session.execute(
        select(ChannelRegion.region_code, ChannelRegion.channel_id)
        .join(Channel, Channel.id == ChannelRegion.channel_id)
        .where(Channel.active.is_(True))
    )
    return {(region, channel) for region, channel in rows}


def _name(index: regions.RegionIndex, code: str) -> str:
    region = index.get(code)
    return region.name if region is not None else code
