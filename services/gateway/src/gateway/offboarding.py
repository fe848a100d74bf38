"""Offboarding: a leaving user is deactivated and everything they own is handed to
someone else; the hand-overs are kept. Each takes a session inside the caller's
transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import PortfolioReassigned, UserDeactivated
from crm_kit import directory, errors
from crm_kit.auth import Role, User
from crm_kit.http import PageParams
from crm_kit.outbox import emit
from crm_kit.queries import fetch_page

from . import domain, users
from .domain import AuditAction
from .models import Handover, UserAccount

#: Where a refused hand-over target is, for the answer's `detail`.
TARGET = ("body", "reassign_to")


async def offboard(
    session: AsyncSession, user_id: uuid.UUID, reassign_to: uuid.UUID, caller: User
) -> Handover:
    """Deactivate `user_id` and hand everything they own to `reassign_to`.

    One transaction: the user can no longer log in, the change is audited, the
    hand-over is recorded, and `UserDeactivated` then `PortfolioReassigned` are in
    the outbox; every service moves its own records when it gets the latter.
    """
    await users.lock_staff(session)
    await users.require_active(session, caller, Role.ADMIN)
    leaving = await _leaving(session, user_id)
    await _taking_over(session, reassign_to, leaving)
    await users.keep_an_admin(
        session, leaving, f"user {user_id} is the last active admin and cannot be offboarded"
    )

    now = datetime.now(UTC)
    leaving.active = False
    await directory.announce_deactivation(session)
    users.audit(session, leaving, AuditAction.OFFBOARDED, {"active": [True, False]}, caller.id, at=now)
    handover = Handover(
        id=uuid.uuid4(),
        from_user_id=user_id,
        to_user_id=reassign_to,
        requested_by=caller.id,
        requested_at=now,
    )
    session.add(handover)
    await emit(session, UserDeactivated(user_id=user_id, deactivated_at=now), actor=caller.id)
    await emit(
        session,
        PortfolioReassigned(from_user_id=user_id, to_user_id=reassign_to, reassigned_at=now),
        actor=caller.id,
    )
    await session.flush()
    return handover


async def _leaving(session: AsyncSession, user_id: uuid.UUID) -> UserAccount:
    """The user to offboard, locked; not one already gone."""
    leaving = await session.get(UserAccount, user_id, with_for_update=True)
    if leaving is None:
        raise errors.NotFound("user", user_id)
    if not leaving.active:
        raise errors.Conflict(
            f"user {user_id} is already offboarded", code="user.already_offboarded", params={"user": user_id}
        )
    return leaving


async def _taking_over(session: AsyncSession, reassign_to: uuid.UUID, leaving: UserAccount) -> UserAccount:
    """Who takes the portfolio over, locked: another user, an active one, and for a
    seller's portfolio another seller (422 else)."""
    if reassign_to == leaving.id:
        raise errors.Invalid.at(
            TARGET,
            "reassign_to must be another user than the one leaving",
            code="offboarding.successor_is_leaving",
        )
    target = await session.get(UserAccount, reassign_to, with_for_update=True)
    if target is None:
        raise errors.Invalid.at(
            TARGET,
            f"user {reassign_to} does not exist",
            code="offboarding.successor_unknown",
            params={"user": reassign_to},
        )
    if not target.active:
        raise errors.Invalid.at(
            TARGET,
            f"user {reassign_to} is offboarded",
            code="offboarding.successor_offboarded",
            params={"user": reassign_to, "username": target.username},
        )
    if not domain.may_take_over(leaving.role, target.role):
        raise errors.Invalid.at(
            TARGET,
            f"user {reassign_to} has the role {target.role}: a seller's customers, leads and quotes go to"
            " a salesperson or a sales manager",
            code="offboarding.successor_not_seller",
            params={"user": reassign_to, "username": target.username, "role": str(target.role)},
        )
    return target


async def list_handovers(
    session: AsyncSession, user_id: uuid.UUID, page: PageParams
) -> tuple[list[Handover], int]:
    """Hand-overs from or to the user, newest first."""
    await users.get_existing(session, user_id)
    stmt = select(Handover).where(or_(Handover.from_user_id == user_id, Handover.to_user_id == user_id))
    return await fetch_page(session, stmt, page, Handover.requested_at.desc(), Handover.id)
