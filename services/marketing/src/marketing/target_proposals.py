"""Sales targets proposed from the market: each province's market volume in a period
times the share of it the planner aims for, shown first and written when accepted.

A proposal's scope is a province and a product group that takes targets (an active one
of sales' list), and the channel asked for, if any; a month's or quarter's volume
without an estimate of its own comes from its quarter's or year's divided evenly
(`domain.market_volume`). Accepting writes a target for every proposed scope that has
none for the period, and leaves the others as they are, saying so.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_kit import errors
from crm_kit.auth import User

from . import domain, product_groups, regions, targets, volumes
from .domain import DerivedVolume, Period, ProposalStatus
from .models import Channel, SalesTarget
from .schemas import TargetProposalIn, TargetProposalOut, TargetProposalRow
from .targets import Scope


async def propose(session: AsyncSession, body: TargetProposalIn, user: User) -> TargetProposalOut:
    """The proposed targets of `body` (written as targets when `body.accept`): for its
    product group (an active one of sales' list, `product_groups.check`, else 422), or
    for each active group with a market volume."""
    asked = _regions(body.region_codes)
    if body.channel_id is not None and await session.get(Channel, body.channel_id) is None:
        raise errors.Invalid.at(
            ("body", "channel_id"),
            f"channel {body.channel_id} not found",
            code="target.channel_unknown",
            params={"channel": body.channel_id},
        )
    wanted = None if body.product_group is None else await product_groups.check(session, body.product_group)
    period = Period.parse(body.period, months=True)
    found = await volumes.of_period(session, period, product_group=wanted, region_codes=asked)
    if wanted is None:
        # Every group: those that take targets, not a retired one's or a stray spelling's.
        active = await product_groups.active_codes(session)
        found = {key: volume for key, volume in found.items() if key[1] in active}
    existing = await _existing(session, body)
    rows: list[TargetProposalRow] = []
    for (region, group), volume in sorted(found.items()):
        rows.append(
            await _row(session, body, Scope(region, body.channel_id, None, group), volume, existing, user)
        )
    with_volume = {region for region, _ in found}
    for region in asked or []:
        if region not in with_volume:
            rows.append(_without_volume(region, wanted))
    rows.sort(key=lambda r: (r.region_code, r.product_group or ""))
    return TargetProposalOut(
        period=body.period,
        share=float(body.share),
        channel_id=body.channel_id,
        product_group=wanted,
        accepted=body.accept,
        rows=rows,
        created=sum(r.status == ProposalStatus.CREATED for r in rows),
        skipped=sum(r.status == ProposalStatus.EXISTS for r in rows),
    )


async def _row(
    session: AsyncSession,
    body: TargetProposalIn,
    scope: Scope,
    volume: DerivedVolume,
    existing: dict[tuple[str, str | None], uuid.UUID],
    user: User,
) -> TargetProposalRow:
    """One province and product group: its proposal, and what became of it."""
    row = TargetProposalRow(
        region_code=scope.region_code,
        region_name=_name(scope.region_code),
        product_group=scope.product_group,
        market_volume=volume.amount,
        volume_from=list(volume.source_periods),
        amount=None,
        status=ProposalStatus.NO_MARKET_VOLUME,
    )
    if volume.amount <= 0:
        return row
    row.amount = domain.proposed_target(volume.amount, body.share)
    target_id = existing.get((scope.region_code, scope.product_group))
    if target_id is not None:
        row.status, row.target_id = ProposalStatus.EXISTS, target_id
    elif body.accept:
        target = await targets.insert(session, body.period, scope, row.amount, user)
        row.status, row.target_id = ProposalStatus.CREATED, target.id
    else:
        row.status = ProposalStatus.PROPOSED
    return row


def _without_volume(region: str, product_group: str | None) -> TargetProposalRow:
    return TargetProposalRow(
        region_code=region,
        region_name=_name(region),
        product_group=product_group,
        market_volume=None,
        volume_from=[],
        amount=None,
        status=ProposalStatus.NO_MARKET_VOLUME,
    )


def _regions(codes: list[str]) -> list[str] | None:
    """The current codes of the provinces asked for (None: every province); `Invalid`
    naming each one that matches none."""
    if not codes:
        return None
    index = regions.index()
    resolved = [index.resolve(code) for code in codes]
    problems = [
        errors.At(
            ("body", "region_codes", i), f"no province matches {code!r}", "region.no_match", {"region": code}
        )
        for i, (code, match) in enumerate(zip(codes, resolved, strict=True))
        if match is None
    ]
    if problems:
        raise errors.Invalid.many(problems)
    return list(dict.fromkeys(match.region.code for match in resolved if match is not None))


async def _existing(session: AsyncSession, body: TargetProposalIn) -> dict[tuple[str, str | None], uuid.UUID]:
    """(province, product group) -> the id of the target the period has for it, with the
    channel asked for and no salesperson."""
    stmt = select(SalesTarget.region_code, SalesTarget.product_group, SalesTarget.id).where(
        SalesTarget.period == body.period,
        SalesTarget.salesperson_id.is_(None),
        SalesTarget.channel_id.is_(None)
        if body.channel_id is None
        else SalesTarget.channel_id == body.channel_id,
    )
    return {(region, group): target_id for region, group, target_id in await session.execute(stmt)}


def _name(code: str) -> str:
    region = regions.index().get(code)
    return region.name if region is not None else code
