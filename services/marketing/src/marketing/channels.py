"""Use cases of channels: the tree, the regions each covers, the salespeople in them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, exists, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import ChannelChanged
from crm_kit import audit, directory, errors, outbox
from crm_kit.auth import Role, User
from crm_kit.http import PageParams
from crm_kit.queries import fetch_page
from crm_kit.text import fold

from . import domain, regions
from .models import Channel, ChannelAssignment, ChannelRegion
from .schemas import AssignmentIn, ChannelCreate, ChannelPatch

#: The audit trail's name of a channel: its details, coverage and assignments.
AUDITED = "channel"
#: Roles a member of staff needs to be assigned to a channel in a region.
ASSIGNABLE_ROLES = frozenset({Role.SALESPERSON.value, Role.SALES_MANAGER.value})


@dataclass(frozen=True)
class ChannelRecord:
    channel: Channel
    region_codes: list[str]
    assignments: list[ChannelAssignment]


async def create(session: AsyncSession, body: ChannelCreate, user: User) -> ChannelRecord:
    await _name_is_free(session, body.name)
    if body.parent_id is not None and await session.get(Channel, body.parent_id) is None:
        raise errors.Invalid(
            f"parent channel {body.parent_id} not found",
            code="channel.parent_unknown",
            params={"parent": body.parent_id},
        )
    _known_regions(body.region_codes)
    channel = Channel(
        id=uuid.uuid4(),
        name=body.name,
        name_key=fold(body.name),
        kind=body.kind,
        parent_id=body.parent_id,
        active=True,
        created_by=user.id,
    )
    session.add(channel)
    await session.flush()
    if body.region_codes:
        await session.execute(
            insert(ChannelRegion), [{"channel_id": channel.id, "region_code": c} for c in body.region_codes]
        )
    await _announce(session, channel, actor=user.id)
    record = await get(session, channel.id)
    await audit.record(session, AUDITED, channel.id, "created", user.id, {}, _audited(record))
    return record


async def get(session: AsyncSession, channel_id: uuid.UUID) -> ChannelRecord:
    channel = await session.get(Channel, channel_id)
    if channel is None:
        raise errors.NotFound("channel", channel_id)
    return (await _records(session, [channel]))[0]


async def list_page(
    session: AsyncSession,
    page: PageParams,
    *,
    kind: str | None = None,
    active: bool | None = None,
    region_code: str | None = None,
    parent_id: uuid.UUID | None = None,
    q: str | None = None,
) -> tuple[list[ChannelRecord], int]:
    stmt = select(Channel)
    if kind is not None:
        stmt = stmt.where(Channel.kind == kind)
    if active is not None:
        stmt = stmt.where(Channel.active == active)
    if parent_id is not None:
        stmt = stmt.where(Channel.parent_id == parent_id)
    if region_code is not None:
        stmt = stmt.where(
            exists().where(ChannelRegion.channel_id == Channel.id, ChannelRegion.region_code == region_code)
        )
    if q:
        stmt = stmt.where(Channel.name_key.contains(fold(q), autoescape=True))
    channels, total = await fetch_page(session, stmt, page, Channel.name_key, Channel.id)
    return await _records(session, channels), total


async def update(
    session: AsyncSession, channel_id: uuid.UUID, body: ChannelPatch, user: User
) -> ChannelRecord:
    channel = await session.get(Channel, channel_id, with_for_update=True)
    if channel is None:
        raise errors.NotFound("channel", channel_id)
    before = _details(channel)
    if body.name is not None and fold(body.name) != channel.name_key:
        await _name_is_free(session, body.name)
        channel.name, channel.name_key = body.name, fold(body.name)
    elif body.name is not None:
        channel.name = body.name  # the same name, written differently
    if "parent_id" in body.model_fields_set and body.parent_id != channel.parent_id:
        await _lock_tree(session)
        if body.parent_id is not None:
            if await session.get(Channel, body.parent_id) is None:
                raise errors.Invalid(
                    f"parent channel {body.parent_id} not found",
                    code="channel.parent_unknown",
                    params={"parent": body.parent_id},
                )
            parents = await parent_map(session)
            if domain.would_loop(channel.id, body.parent_id, parents):
                raise errors.Invalid(
                    f"channel {body.parent_id} sells through {channel.id} already: "
                    "making it the parent would make a loop",
                    code="channel.parent_loop",
                    params={"parent": body.parent_id, "channel": channel.id},
                )
        channel.parent_id = body.parent_id
    if body.active is not None:
        channel.active = body.active
    await session.flush()
    await _announce(session, channel, actor=user.id)
    await audit.record(session, AUDITED, channel_id, "edited", user.id, before, _details(channel))
    return await get(session, channel_id)


async def set_coverage(
    session: AsyncSession, channel_id: uuid.UUID, region_codes: list[str], user: User
) -> ChannelRecord:
    await _locked(session, channel_id)
    before = await get(session, channel_id)
    _known_regions(region_codes)
    staffed = (
        await session.scalars(
            select(ChannelAssignment.region_code)
            .where(
                ChannelAssignment.channel_id == channel_id,
                ChannelAssignment.region_code.not_in(region_codes),
            )
            .distinct()
        )
    ).all()
    if staffed:
        raise errors.Conflict(
            "salespeople are assigned in regions the new coverage leaves out: "
            f"{', '.join(sorted(staffed))}; change the assignments first",
            code="channel.coverage_staffed",
            params={"regions": sorted(staffed)},
        )
    await session.execute(delete(ChannelRegion).where(ChannelRegion.channel_id == channel_id))
    if region_codes:
        await session.execute(
            insert(ChannelRegion), [{"channel_id": channel_id, "region_code": c} for c in region_codes]
        )
    await _touch(session, channel_id)
    after = await get(session, channel_id)
    await audit.record(
        session,
        AUDITED,
        channel_id,
        "coverage_set",
        user.id,
        {"region_codes": sorted(before.region_codes)},
        {"region_codes": sorted(after.region_codes)},
    )
    return after


async def set_assignments(
    session: AsyncSession, channel_id: uuid.UUID, items: Sequence[AssignmentIn], user: User
) -> ChannelRecord:
    await _locked(session, channel_id)
    before = await get(session, channel_id)
    wanted = list(dict.fromkeys((a.region_code, a.user_id) for a in items))
    covered = set(
        (
            await session.scalars(
                select(ChannelRegion.region_code).where(ChannelRegion.channel_id == channel_id)
            )
        ).all()
    )
    outside = sorted({code for code, _ in wanted if code not in covered})
    if outside:
        raise errors.Invalid(
            f"the channel does not cover {regions.index().describe_unknown(outside)}",
            code="channel.region_not_covered",
            params={"regions": outside},
        )
    problems = []
    deactivated: list[str] = []
    not_selling: list[str] = []
    for user_id in dict.fromkeys(user_id for _, user_id in wanted):
        # A user the directory does not know yet (its event is still on the way) is
        # taken on trust; a known one must be active staff who sell.
        member = await directory.by_id(session, user_id)
        if member is None:
            continue
        if not member.active:
            problems.append(f"user {user_id} is deactivated")
            deactivated.append(member.username or str(user_id))
        elif member.role not in ASSIGNABLE_ROLES:
            problems.append(f"user {user_id} is {member.role or 'not staff'}, not a salesperson")
            not_selling.append(member.username or str(user_id))
    if problems:
        raise errors.Invalid(
            "; ".join(problems),
            code="channel.assignees_not_selling",
            params={"deactivated": deactivated, "not_selling": not_selling},
        )
    await session.execute(delete(ChannelAssignment).where(ChannelAssignment.channel_id == channel_id))
    if wanted:
        await session.execute(
            insert(ChannelAssignment),
            [{"channel_id": channel_id, "region_code": code, "user_id": uid} for code, uid in wanted],
        )
    await _touch(session, channel_id)
    after = await get(session, channel_id)
    await audit.record(
        session,
        AUDITED,
        channel_id,
        "assignments_set",
        user.id,
        {"assignments": _assigned(before)},
        {"assignments": _assigned(after)},
    )
    return after


async def parent_map(session: AsyncSession) -> dict[uuid.UUID, uuid.UUID | None]:
    rows = await session.execute(select(Channel.id, Channel.parent_id))
    return {channel_id: parent_id for channel_id, parent_id in rows}


async def move_assignments(session: AsyncSession, from_user: uuid.UUID, to_user: uuid.UUID) -> int:
    """Hand a leaving salesperson's channel x region assignments to another; how many moved."""
    moved = await session.scalar(
        select(func.count()).select_from(ChannelAssignment).where(ChannelAssignment.user_id == from_user)
    )
    if not moved or from_user == to_user:
        return 0
    # Each channel's trail says who took the leaver's provinces (one entry per channel).
    held = (
        await session.execute(
            select(ChannelAssignment.channel_id, ChannelAssignment.region_code)
            .where(ChannelAssignment.user_id == from_user)
            .order_by(ChannelAssignment.channel_id, ChannelAssignment.region_code)
        )
    ).all()
    by_channel: dict[uuid.UUID, list[str]] = {}
    for channel_id, code in held:
        by_channel.setdefault(channel_id, []).append(code)
    await audit.record_many(
        session,
        [
            {
                "entity": AUDITED,
                "entity_id": channel_id,
                "action": "handed_over",
                "actor_id": None,
                "before": {"assignments": {code: [str(from_user)] for code in codes}},
                "after": {"assignments": {code: [str(to_user)] for code in codes}},
            }
            for channel_id, codes in by_channel.items()
        ],
    )
    await session.execute(
        text(
            "INSERT INTO channel_assignments (channel_id, region_code, user_id) "
            "SELECT channel_id, region_code, :to FROM channel_assignments WHERE user_id = :from "
            "ON CONFLICT DO NOTHING"
        ),
        {"to": to_user, "from": from_user},
    )
    await session.execute(delete(ChannelAssignment).where(ChannelAssignment.user_id == from_user))
    return int(moved)


async def holdings(session: AsyncSession, user_id: uuid.UUID) -> dict[str, int]:
    count = await session.scalar(
        select(func.count()).select_from(ChannelAssignment).where(ChannelAssignment.user_id == user_id)
    )
    return {"channel_assignments": int(count or 0)}


# -- helpers ----------------------------------------------------------------------------


def _details(channel: Channel) -> dict[str, object]:
    return {"name": channel.name, "parent_id": channel.parent_id, "active": channel.active}


def _assigned(record: ChannelRecord) -> dict[str, list[str]]:
    """Who works each province of the channel: region code -> user ids."""
    found: dict[str, list[str]] = {}
    for a in sorted(record.assignments, key=lambda a: (a.region_code, str(a.user_id))):
        found.setdefault(a.region_code, []).append(str(a.user_id))
    return found


def _audited(record: ChannelRecord) -> dict[str, object]:
    return {
        **_details(record.channel),
        "kind": record.channel.kind,
        "region_codes": sorted(record.region_codes),
    }


async def _announce(session: AsyncSession, channel: Channel, *, actor: uuid.UUID | None = None) -> None:
    """ChannelChanged with what the channel is now (sales keeps each channel's kind), stamped
    once the change is made: an update holds the row's lock, so a later change has a later stamp."""
    event = ChannelChanged(
        channel_id=channel.id,
        name=channel.name,
        kind=channel.kind,
        parent_id=channel.parent_id,
        active=channel.active,
        changed_at=datetime.now(UTC),
    )
    await outbox.emit(session, event, actor=actor)


def _known_regions(codes: Sequence[str]) -> None:
    index = regions.index()
    unknown = index.unknown_codes(codes)
    if unknown:
        raise errors.Invalid(
            f"unknown region codes: {index.describe_unknown(unknown)}",
            code="region.unknown",
            params={"regions": unknown},
        )


async def _name_is_free(session: AsyncSession, name: str) -> None:
    taken = await session.scalar(select(Channel.id).where(Channel.name_key == fold(name)))
    if taken is not None:
        raise errors.Conflict(
            f"a channel named {name!r} exists already ({taken})",
            code="channel.name_taken",
            params={"name": name, "channel": taken},
        )


async def _locked(session: AsyncSession, channel_id: uuid.UUID) -> Channel:
    channel = await session.get(Channel, channel_id, with_for_update=True)
    if channel is None:
        raise errors.NotFound("channel", channel_id)
    return channel


async def _touch(session: AsyncSession, channel_id: uuid.UUID) -> None:
    channel = await session.get(Channel, channel_id)
    if channel is not None:
        channel.updated_at = func.now()  # type: ignore[assignment]
        await session.flush()
        await session.refresh(channel)


async def _lock_tree(session: AsyncSession) -> None:
    # Two moves at once could each pass the loop check and together close a loop
    # (A under B, B under A): moves in the tree take turns.
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext("marketing.channel_tree"))))


async def _records(session: AsyncSession, channels: Sequence[Channel]) -> list[ChannelRecord]:
    ids = [c.id for c in channels]
    coverage: dict[uuid.UUID, list[str]] = {i: [] for i in ids}
    assignments: dict[uuid.UUID, list[ChannelAssignment]] = {i: [] for i in ids}
    if ids:
        for channel_id, code in await session.execute(
            select(ChannelRegion.channel_id, ChannelRegion.region_code)
            .where(ChannelRegion.channel_id.in_(ids))
            .order_by(ChannelRegion.region_code)
        ):
            coverage[channel_id].append(code)
        for assignment in await session.scalars(
            select(ChannelAssignment)
            .where(ChannelAssignment.channel_id.in_(ids))
            .order_by(ChannelAssignment.region_code, ChannelAssignment.user_id)
        ):
            assignments[assignment.channel_id].append(assignment)
    return [ChannelRecord(c, coverage[c.id], assignments[c.id]) for c in channels]
