"""Notifications: what concerns a person, made from events, read in the web UI's header.

`consumers.py` decides who is told what; this module stores and serves it:
`GET /api/notifications` (the caller's own, newest first, with the unread count),
`POST /api/notifications/{id}/read` and `POST /api/notifications/read-all`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, func, select, true, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from crm_kit import errors
from crm_kit.auth import CurrentUser, Role
from crm_kit.http import Paging
from crm_kit.runtime import DbDep

from .domain import NotificationKind
from .models import Notification, UserAccount

router = APIRouter(prefix="/api/notifications", tags=["notifications"])


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    params: dict[str, Any]
    link: str | None
    created_at: datetime
    visible_from: datetime
    read_at: datetime | None


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    total: int
    #: Unread and due, whatever the page.
    unread: int


class MarkedRead(BaseModel):
    marked: int


# -- use cases (each in the caller's transaction) ------------------------------------------


async def notify(
    session: AsyncSession,
    user_ids: list[uuid.UUID],
    kind: NotificationKind,
    params: dict[str, Any],
    *,
    link: str | None = None,
    event_id: uuid.UUID | None = None,
    visible_from: datetime | None = None,
    dedupe_key: str | None = None,
) -> None:
    """Tell each of `user_ids`; a notification with the same `dedupe_key` is replaced
    (made unread again), so one customer has at most one pending review reminder."""
    known = set((await session.execute(select(UserAccount.id).where(UserAccount.id.in_(user_ids)))).scalars())
    for user_id in user_ids:
        if user_id not in known:
            # An owner the gateway does not know (a test's stray id): nobody to tell.
            continue
        values: dict[str, Any] = {
            "id": uuid.uuid4(),
            "user_id": user_id,
            "kind": kind,
            "params": params,
            "link": link,
            "event_id": event_id,
            "dedupe_key": dedupe_key,
            "visible_from": visible_from or datetime.now(UTC),
            "created_at": datetime.now(UTC),
        }
        stmt = insert(Notification).values(**values)
        if dedupe_key is not None:
            stmt = stmt.on_conflict_do_update(
                constraint="uq_notifications_user_key",
                set_={
                    k: values[k] for k in ("kind", "params", "link", "event_id", "visible_from", "created_at")
                }
                | {"read_at": None},
            )
        await session.execute(stmt)


async def withdraw(session: AsyncSession, dedupe_key: str, *, keep_for: uuid.UUID | None = None) -> int:
    """Remove the unread notifications with `dedupe_key` (what they announce is no longer
    so), except `keep_for`'s; one already read stays as history. Returns how many went."""
    where = (Notification.dedupe_key == dedupe_key) & Notification.read_at.is_(None)
    if keep_for is not None:
        where = where & (Notification.user_id != keep_for)
    result = await session.execute(delete(Notification).where(where))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def active_users_with_role(session: AsyncSession, role: Role) -> list[uuid.UUID]:
    stmt = select(UserAccount.id).where(UserAccount.role == role.value, UserAccount.active)
    return list((await session.execute(stmt)).scalars())


def _visible(user_id: uuid.UUID, now: datetime) -> Any:
    return (Notification.user_id == user_id) & (Notification.visible_from <= now)


async def list_for(
    session: AsyncSession, user_id: uuid.UUID, limit: int, offset: int, unread_only: bool
) -> tuple[list[Notification], int, int]:
    """The page, its total and the unread count, read in one statement: one snapshot, so a
    notification committed meanwhile is in all three or in none."""
    where = _visible(user_id, datetime.now(UTC))
    unread_where = Notification.read_at.is_(None)
    counts = (
        select(
            func.count().filter(unread_where if unread_only else true()).label("total"),
            func.count().filter(unread_where).label("unread"),
        )
        .where(where)
        .subquery()
    )
    chosen = where & unread_where if unread_only else where
    page = (
        select(Notification)
        .where(chosen)
        .order_by(Notification.visible_from.desc(), Notification.id)
        .limit(limit)
        .offset(offset)
        .subquery()
    )
    shown = aliased(Notification, page)
    stmt = (
        select(counts.c.total, counts.c.unread, shown)
        .select_from(counts)
        .outerjoin(page, true())
        .order_by(page.c.visible_from.desc(), page.c.id)
    )
    rows = (await session.execute(stmt)).all()
    total, unread = (rows[0].total, rows[0].unread) if rows else (0, 0)
    return [row[2] for row in rows if row[2] is not None], int(total), int(unread)


async def mark_read(session: AsyncSession, user_id: uuid.UUID, notification_id: uuid.UUID | None) -> int:
    """Mark one (or, without an id, every due) notification of the user read."""
    now = datetime.now(UTC)
    where = _visible(user_id, now) & Notification.read_at.is_(None)
    if notification_id is not None:
        where = where & (Notification.id == notification_id)
    result = await session.execute(update(Notification).where(where).values(read_at=now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def mark_one_read(session: AsyncSession, user_id: uuid.UUID, notification_id: uuid.UUID) -> int:
    """Mark one of the user's due notifications read; 404 for any other."""
    exists = await session.execute(
        select(Notification.id).where(Notification.id == notification_id, Notification.user_id == user_id)
    )
    if exists.first() is None:
        raise errors.NotFound("notification", notification_id)
    return await mark_read(session, user_id, notification_id)


# -- routes --------------------------------------------------------------------------------


@router.get("")
async def list_notifications(
    user: CurrentUser,
    db: DbDep,
    paging: Paging,
    unread: Annotated[bool, Query(description="only the unread ones")] = False,
) -> NotificationPage:
    """The caller's notifications that are due, newest first."""
    async with db.transaction() as session:
        rows, total, unread_count = await list_for(session, user.id, paging.limit, paging.offset, unread)
        return NotificationPage(
            items=[NotificationOut.model_validate(n) for n in rows], total=total, unread=unread_count
        )


@router.post("/read-all")
async def read_all(user: CurrentUser, db: DbDep) -> MarkedRead:
    """Mark every due notification of the caller read; `marked` says how many were unread
    (0 the second time, so repeating it is harmless)."""
    async with db.transaction() as session:
        return MarkedRead(marked=await mark_read(session, user.id, None))


@router.post("/{notification_id}/read")
async def read_one(notification_id: uuid.UUID, user: CurrentUser, db: DbDep) -> MarkedRead:
    """Mark one of the caller's notifications read; `marked` is 0 when it was read already or
    is not due yet. Someone else's notification is 'not found', like one that does not exist."""
    async with db.transaction() as session:
        return MarkedRead(marked=await mark_one_read(session, user.id, notification_id))
