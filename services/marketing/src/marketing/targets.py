"""Use cases of sales targets (chỉ tiêu doanh số): set, revise with history, read, and
measure against the revenue marketing keeps from `OrderPlaced` (plan against actual).
Importing them from a file is `target_import`; proposing them from the market
`target_proposals`.

A target's scope is a province, optionally narrowed to a channel (the channel and every
channel selling through it), a salesperson and a product group; its period a year, a
quarter or a month. Marketing users, sales managers and admins set targets; a
salesperson reads their own.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from crm_kit import audit, directory, errors
from crm_kit.auth import Role, User
from crm_kit.http import PageParams
from crm_kit.queries import fetch_page

from . import domain, product_groups, regions
from .channels import parent_map
from .domain import Period
from .models import Channel, RevenueMonth, SalesTarget, SalesTargetRevision
from .schemas import AttainmentOut, AttainmentRow, TargetCreate, TargetRevisionOut

#: Who a target may name as its salesperson.
#: The audit trail's name of a target.
AUDITED = "target"
SELLING_ROLES = frozenset({Role.SALESPERSON.value, Role.SALES_MANAGER.value})


@dataclass(frozen=True)
class Scope:
    """What a target covers besides its period."""

    region_code: str
    channel_id: uuid.UUID | None = None
    salesperson_id: uuid.UUID | None = None
    product_group: str | None = None

    @classmethod
    def of(cls, target: SalesTarget) -> Scope:
        return cls(target.region_code, target.channel_id, target.salesperson_id, target.product_group)


@dataclass(frozen=True)
class Filters:
    """Which targets a list or an attainment report covers; None is any."""

    region_code: str | None = None
    channel_id: uuid.UUID | None = None
    salesperson_id: uuid.UUID | None = None
    product_group: str | None = None


# -- set and revise ---------------------------------------------------------------------


async def create(session: AsyncSession, body: TargetCreate, user: User) -> SalesTarget:
    """A new target; 409 if its period and scope have one (revise that one instead)."""
    scope = await _valid_scope(session, body)
    existing = await find(session, body.period, scope)
    if existing is not None:
        raise errors.Conflict(
            f"{body.period} has a target for this scope already ({existing.id}); "
            f"revise it with PATCH /api/targets/{existing.id}",
            code="target.exists",
            params={"target": existing.id, "period": body.period},
        )
    return await insert(session, body.period, scope, body.amount, user)


async def insert(session: AsyncSession, period: str, scope: Scope, amount: int, user: User) -> SalesTarget:
    """Write a target for a checked scope (`check_scope`) and its first revision; 409 if
    another request wrote one for the same period and scope at the same moment."""
    target = SalesTarget(
        id=uuid.uuid4(),
        period=period,
        region_code=scope.region_code,
        channel_id=scope.channel_id,
        salesperson_id=scope.salesperson_id,
        product_group=scope.product_group,
        amount=amount,
        revision=1,
        entered_by=user.id,
    )
    session.add(target)
    try:
        await session.flush()
    except IntegrityError as exc:  # the same target entered at the same moment
        raise errors.Conflict(
            f"{period} got a target for this scope at the same moment",
            code="target.entered_concurrently",
            params={"period": period},
        ) from exc
    session.add(SalesTargetRevision(target_id=target.id, revision=1, amount=amount, entered_by=user.id))
    await session.flush()
    await audit.record(
        session,
        AUDITED,
        target.id,
        "created",
        user.id,
        {},
        {
            "period": period,
            "region_code": scope.region_code,
            "channel_id": scope.channel_id,
            "salesperson_id": scope.salesperson_id,
            "product_group": scope.product_group,
            "amount": amount,
        },
    )
    return target


async def revise(session: AsyncSession, target_id: uuid.UUID, amount: int, user: User) -> SalesTarget:
    """A new amount, kept in the history with who set it and when; the same amount again
    changes nothing."""
    target = await session.get(SalesTarget, target_id, with_for_update=True)
    if target is None:
        raise errors.NotFound("target", target_id)
    if amount != target.amount:
        await audit.record(
            session, AUDITED, target.id, "revised", user.id, {"amount": target.amount}, {"amount": amount}
        )
        target.revision += 1
        target.amount = amount
        session.add(
            SalesTargetRevision(
                target_id=target.id, revision=target.revision, amount=amount, entered_by=user.id
            )
        )
        await session.flush()
    return target


#: A problem with a target's field: where (("body", field)), what is wrong, its code and params.
Problem = errors.At


async def _valid_scope(session: AsyncSession, body: TargetCreate) -> Scope:
    """The scope of `body`, or `Invalid` naming every field that does not fit."""
    scope, problems = await check_scope(
        session, body.region_code, body.channel_id, body.salesperson_id, body.product_group
    )
    if scope is None:
        raise errors.Invalid.many(problems)
    return scope


async def check_scope(
    session: AsyncSession,
    region_code: str,
    channel_id: uuid.UUID | None,
    salesperson_id: uuid.UUID | None,
    product_group: str | None,
) -> tuple[Scope | None, list[Problem]]:
    """The scope these name (the province by any of its codes or names, the product group
    by its code or name, kept as its code), or None and every field that does not fit: an
    unknown province or channel, a salesperson who is unknown, deactivated or not in
    sales, a product group not on sales' list or retired (`product_groups.problem`)."""
    problems: list[Problem] = []
    resolved = regions.index().resolve(region_code)
    if resolved is None:
        problems.append(
            errors.At(
                ("body", "region_code"),
                f"no province matches {region_code!r}",
                "region.no_match",
                {"region": region_code},
            )
        )
    if channel_id is not None and await session.get(Channel, channel_id) is None:
        problems.append(
            errors.At(
                ("body", "channel_id"),
                f"channel {channel_id} not found",
                "target.channel_unknown",
                {"channel": channel_id},
            )
        )
    if salesperson_id is not None:
        refusal = seller_refusal(await directory.by_id(session, salesperson_id), salesperson_id)
        if refusal is not None:
            problems.append(refusal)
    group: str | None = None
    if product_group is not None:
        group, refused = await product_groups.problem(session, product_group)
        if refused is not None:
            problems.append(refused)
    if problems or resolved is None:
        return None, problems
    return Scope(resolved.region.code, channel_id, salesperson_id, group), []


def seller_refusal(
    member: directory.StaffMember | None, key: object, loc: errors.Location = ("body", "salesperson_id")
) -> errors.At | None:
    """Why `member` may not have a target, at `loc`; None if they may."""
    if member is None:
        return errors.At(
            loc, f"no member of staff {key}", "target.salesperson_unknown", {"salesperson": str(key)}
        )
    if not member.active:
        return errors.At(
            loc,
            f"{member.username} is deactivated",
            "target.salesperson_deactivated",
            {"username": member.username},
        )
    if member.role not in SELLING_ROLES:
        return errors.At(
            loc,
            f"{member.username} is {member.role}, not in sales",
            "target.salesperson_not_selling",
            {"username": member.username, "role": member.role},
        )
    return None


async def find(session: AsyncSession, period: str, scope: Scope) -> SalesTarget | None:
    """The target of exactly this period and scope, if one is set."""
    stmt = select(SalesTarget).where(
        SalesTarget.period == period,
        SalesTarget.region_code == scope.region_code,
        _is(SalesTarget.channel_id, scope.channel_id),
        _is(SalesTarget.salesperson_id, scope.salesperson_id),
        _is(SalesTarget.product_group, scope.product_group),
    )
    found: SalesTarget | None = await session.scalar(stmt)
    return found


def _is(column: InstrumentedAttribute[Any], value: object) -> ColumnElement[bool]:
    return column.is_(None) if value is None else column == value


# -- read -------------------------------------------------------------------------------


def _visible(filters: Filters, user: User) -> Filters:
    """A salesperson sees their own targets only, whatever they ask for."""
    if user.role == Role.SALESPERSON:
        return Filters(filters.region_code, filters.channel_id, user.id, filters.product_group)
    return filters


def _filtered(stmt: Select[Any], filters: Filters) -> Select[Any]:
    given: list[tuple[InstrumentedAttribute[Any], object]] = [
        (SalesTarget.region_code, filters.region_code),
        (SalesTarget.channel_id, filters.channel_id),
        (SalesTarget.salesperson_id, filters.salesperson_id),
        (SalesTarget.product_group, filters.product_group),
    ]
    for column, value in given:
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt


async def list_page(
    session: AsyncSession, page: PageParams, user: User, *, period: Period | None, filters: Filters
) -> tuple[list[SalesTarget], int]:
    """Targets of `period` (or every period), newest period first."""
    stmt = select(SalesTarget)
    if period is not None:
        stmt = stmt.where(SalesTarget.period == str(period))
    stmt = _filtered(stmt, _visible(filters, user))
    return await fetch_page(
        session,
        stmt,
        page,
        SalesTarget.period.desc(),
        SalesTarget.region_code,
        SalesTarget.product_group,
        SalesTarget.id,
    )


async def get(
    session: AsyncSession, target_id: uuid.UUID, user: User
) -> tuple[SalesTarget, list[TargetRevisionOut]]:
    """One target with every amount it had (a salesperson's own only: another's is 404)."""
    target = await session.get(SalesTarget, target_id)
    if target is None or (user.role == Role.SALESPERSON and target.salesperson_id != user.id):
        raise errors.NotFound("target", target_id)
    rows = await session.scalars(
        select(SalesTargetRevision)
        .where(SalesTargetRevision.target_id == target_id)
        .order_by(SalesTargetRevision.revision)
    )
    history, previous = [], None
    for row in rows:
        history.append(
            TargetRevisionOut(
                revision=row.revision,
                amount=row.amount,
                previous_amount=previous,
                entered_by=row.entered_by,
                entered_at=row.entered_at,
            )
        )
        previous = row.amount
    return target, history


# -- plan against actual ----------------------------------------------------------------


async def attainment(session: AsyncSession, period: Period, filters: Filters, user: User) -> AttainmentOut:
    """Each scope with a target in `period` (set for it, or rolled up from its quarters
    or months), its target, the net revenue of the orders placed in the period within
    the scope, and the fraction of the target reached."""
    targets = await _targets_within(session, period, _visible(filters, user))
    revenue = await _revenue(session, period, targets)
    parents = await parent_map(session)
    rows = []
    for scope, amounts in sorted(targets.items(), key=lambda item: _order(item[0])):
        target = domain.rolled_up_target(period, amounts)
        if target is None:
            continue
        actual = _actual(scope, revenue, parents)
        rows.append(
            AttainmentRow(
                region_code=scope.region_code,
                channel_id=scope.channel_id,
                salesperson_id=scope.salesperson_id,
                product_group=scope.product_group,
                target=target,
                actual=actual,
                attainment=domain.attainment(actual, target),
            )
        )
    return AttainmentOut(period=str(period), rows=rows)


def _order(scope: Scope) -> tuple[str, str, str, str]:
    return (
        scope.region_code,
        str(scope.channel_id or ""),
        str(scope.salesperson_id or ""),
        scope.product_group or "",
    )


async def _targets_within(
    session: AsyncSession, period: Period, filters: Filters
) -> dict[Scope, dict[str, int]]:
    """Scope -> {period: amount} of every target set in `period` or a period inside it."""
    inside = [str(p) for p in domain.periods_within(period)]
    stmt = _filtered(select(SalesTarget).where(SalesTarget.period.in_(inside)), filters)
    targets: dict[Scope, dict[str, int]] = defaultdict(dict)
    for target in (await session.scalars(stmt)).all():
        targets[Scope.of(target)][target.period] = target.amount
    return targets


#: Net revenue of a province by (channel, salesperson, product group).
Sold = list[tuple[uuid.UUID | None, uuid.UUID | None, str, int]]
#: What each province sold (`_revenue`).
Revenue = dict[str | None, Sold]


async def _revenue(session: AsyncSession, period: Period, scopes: Collection[Scope]) -> Revenue:
    """Net revenue of the period's orders in the provinces of `scopes`, by province, then
    channel, salesperson and product group: one grouped read of the monthly summary (a
    period is whole months), however many targets are measured against it. Narrowed to the
    scopes' salespeople (or product groups) when every scope names one: a salesperson's
    own report reads their revenue only."""
    if not scopes:
        return {}
    stmt = (
        select(
            RevenueMonth.region_code,
            RevenueMonth.channel_id,
            RevenueMonth.owner_id,
            RevenueMonth.product_group,
            func.sum(RevenueMonth.net_amount),
        )
        .where(
            RevenueMonth.month >= period.start,
            RevenueMonth.month < period.end,
            RevenueMonth.region_code.in_(sorted({s.region_code for s in scopes})),
        )
        .group_by(
            RevenueMonth.region_code,
            RevenueMonth.channel_id,
            RevenueMonth.owner_id,
            RevenueMonth.product_group,
        )
    )
    owners = {s.salesperson_id for s in scopes}
    if None not in owners:
        stmt = stmt.where(RevenueMonth.owner_id.in_(sorted(owners, key=str)))
    groups = {s.product_group for s in scopes}
    if None not in groups:
        stmt = stmt.where(RevenueMonth.product_group.in_(sorted(g for g in groups if g is not None)))
    revenue: Revenue = defaultdict(list)
    for region, channel, owner, group, amount in await session.execute(stmt):
        revenue[region].append((channel, owner, group, int(amount)))
    return revenue


def _actual(scope: Scope, revenue: Revenue, parents: domain.Parents) -> int:
    channels: set[uuid.UUID] | None = None
    if scope.channel_id is not None:
        channels = domain.descendants_and_self([scope.channel_id], parents)
    return sum(
        (
            amount
            for channel, owner, group, amount in revenue.get(scope.region_code, ())
            if (channels is None or channel in channels)
            and (scope.salesperson_id is None or owner == scope.salesperson_id)
            and (scope.product_group is None or group == scope.product_group)
        ),
        0,
    )
