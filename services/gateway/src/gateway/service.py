"""Use cases of the gateway. Each takes a session inside the caller's transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import PortfolioReassigned, UserDeactivated, UserRegistered
from crm_kit import directory
from crm_kit.auth import Role, User
from crm_kit.http import PageParams
from crm_kit.outbox import emit
from crm_kit.queries import fetch_page

from . import domain, passwords
from .models import Handover, UserAccount, UserAudit
from .schemas import UserCreate, UserUpdate

ADMIN_USERNAME = "admin"
ADMIN_FULL_NAME = "Administrator"

#: Who sees every user; anyone else sees only themselves.
SEES_ALL_USERS = frozenset({Role.ADMIN, Role.SALES_MANAGER})


class NotFound(Exception):
    pass


class UsernameTaken(Exception):
    def __init__(self, username: str) -> None:
        super().__init__(f"username {username!r} is taken")


class Conflict(Exception):
    """The request is well-formed but the user's state does not allow it (409)."""


class InvalidTarget(Exception):
    """`reassign_to` names no one who can take a portfolio over (422)."""


class CallerDeactivated(Exception):
    """The token is still valid but its account was offboarded since it was issued."""


class CallerLacksRole(Exception):
    """The token says a role the account no longer has."""


#: Transaction-level advisory lock taken by every operation that can take away an
#: admin (offboarding, a role change), so two of them at once cannot both leave
#: the other as the last admin and then remove them too.
STAFF_LOCK = 0x6761_7465_7761_7901  # "gatewa" + 1


def as_principal(account: UserAccount) -> User:
    """What a token issued to `account` says about it."""
    return User(id=account.id, username=account.username, role=Role(account.role))


async def authenticate(session: AsyncSession, username: str, password: str) -> UserAccount | None:
    """The active user with these credentials, or None; every failure looks the same.

    A password is checked even when the user is missing or inactive, so the answer
    takes as long either way and timing does not tell which names exist.
    """
    try:
        name = domain.normalise_username(username)
    except ValueError:
        name = None
    account = None
    if name is not None:
        stmt = select(UserAccount).where(UserAccount.username == name)
        account = (await session.execute(stmt)).scalar_one_or_none()
    if account is None:
        await passwords.verify_dummy(password)
        return None
    if not await passwords.verify_password(account.password_hash, password):
        return None
    if not account.active:
        return None
    if passwords.needs_rehash(account.password_hash):
        # Hashing parameters were raised since this hash was made: upgrade it now,
        # the only moment the plain password is at hand.
        account.password_hash = await passwords.hash_password(password)
    return account


async def require_active(session: AsyncSession, caller: User, role: Role) -> UserAccount:
    """The caller's account, if it is still active and still has `role`.

    Tokens outlive a deactivation or a role change until they expire; the gateway's
    own changes to users check the account itself so a stale token cannot make them.
    """
    account = await session.get(UserAccount, caller.id)
    if account is None or not account.active:
        raise CallerDeactivated(caller.id)
    if account.role != role.value:
        raise CallerLacksRole(role)
    return account


def registered(account: UserAccount) -> UserRegistered:
    """The directory entry other services keep for `account` (sent on every change)."""
    return UserRegistered(
        user_id=account.id,
        username=account.username,
        full_name=account.full_name,
        role=account.role,
        registered_at=account.created_at,
    )


def audit(
    session: AsyncSession,
    account: UserAccount,
    action: str,
    changes: dict[str, list[Any]],
    actor: uuid.UUID | None,
    at: datetime | None = None,
) -> None:
    session.add(
        UserAudit(
            id=uuid.uuid4(),
            user_id=account.id,
            actor_id=actor,
            action=action,
            changes=changes,
            at=at or datetime.now(UTC),
        )
    )


async def _registered_now(session: AsyncSession, account: UserAccount, actor: uuid.UUID | None) -> None:
    """Audit the creation of `account` and announce it, in the session's transaction."""
    audit(
        session,
        account,
        "created",
        {field: [None, getattr(account, field)] for field in ("username", "full_name", "role")},
        actor,
        at=account.created_at,
    )
    await emit(session, registered(account), actor=actor)


async def create_user(session: AsyncSession, data: UserCreate, actor: uuid.UUID | None = None) -> UserAccount:
    password_hash = await passwords.hash_password(data.password)
    # ON CONFLICT instead of catching IntegrityError: the transaction stays usable
    # and two concurrent requests for one name cannot both succeed.
    stmt = (
        insert(UserAccount)
        .values(
            id=uuid.uuid4(),
            username=data.username,
            full_name=data.full_name,
            role=data.role.value,
            password_hash=password_hash,
            active=True,
        )
        .on_conflict_do_nothing(index_elements=["username"])
        .returning(UserAccount)
    )
    account = (await session.execute(select(UserAccount).from_statement(stmt))).scalar_one_or_none()
    if account is None:
        raise UsernameTaken(data.username)
    await _registered_now(session, account, actor)
    return account


async def ensure_admin(session: AsyncSession, password: str) -> bool:
    """Create user `admin` unless it exists; True if this call created it.

    Safe when several replicas start at once: the unique username decides, and the
    losers' inserts do nothing.
    """
    exists = await session.execute(select(UserAccount.id).where(UserAccount.username == ADMIN_USERNAME))
    if exists.first() is not None:
        return False  # skip hashing: it costs CPU at every start
    stmt = (
        insert(UserAccount)
        .values(
            id=uuid.uuid4(),
            username=ADMIN_USERNAME,
            full_name=ADMIN_FULL_NAME,
            role=Role.ADMIN.value,
            password_hash=await passwords.hash_password(password),
            active=True,
        )
        .on_conflict_do_nothing(index_elements=["username"])
        .returning(UserAccount)
    )
    account = (await session.execute(select(UserAccount).from_statement(stmt))).scalar_one_or_none()
    if account is None:
        return False
    # Only the replica whose insert won announces the admin.
    await _registered_now(session, account, None)
    return True


async def get_visible(session: AsyncSession, user_id: uuid.UUID, caller: User) -> UserAccount:
    """The user if the caller may see it; anyone else's record is 'not found'."""
    if caller.role not in SEES_ALL_USERS and caller.id != user_id:
        raise NotFound(user_id)
    account = await session.get(UserAccount, user_id)
    if account is None:
        raise NotFound(user_id)
    return account


async def list_users(session: AsyncSession, page: PageParams) -> tuple[list[UserAccount], int]:
    return await fetch_page(session, select(UserAccount), page, UserAccount.username)


async def list_salespeople(session: AsyncSession, page: PageParams) -> tuple[list[UserAccount], int]:
    """Active salespeople, by name."""
    stmt = select(UserAccount).where(UserAccount.active, UserAccount.role == Role.SALESPERSON.value)
    return await fetch_page(session, stmt, page, UserAccount.full_name, UserAccount.username)


async def _lock_staff(session: AsyncSession) -> None:
    await session.execute(select(func.pg_advisory_xact_lock(STAFF_LOCK)))


async def _other_active_admins(session: AsyncSession, user_id: uuid.UUID) -> int:
    stmt = (
        select(func.count())
        .select_from(UserAccount)
        .where(UserAccount.role == Role.ADMIN.value, UserAccount.active, UserAccount.id != user_id)
    )
    return int((await session.execute(stmt)).scalar_one())


async def update_user(
    session: AsyncSession, user_id: uuid.UUID, data: UserUpdate, caller: User
) -> UserAccount:
    """Change a user's name or role, audit it and announce the new values.

    Nothing is written when nothing differs. An offboarded user is not changed.
    """
    if data.role is not None:
        await _lock_staff(session)
    await require_active(session, caller, Role.ADMIN)
    account = await session.get(UserAccount, user_id, with_for_update=True)
    if account is None:
        raise NotFound(user_id)
    if not account.active:
        raise Conflict(f"user {user_id} is offboarded")
    wanted: dict[str, str] = {}
    if data.full_name is not None:
        wanted["full_name"] = data.full_name
    if data.role is not None:
        wanted["role"] = data.role.value
    changes: dict[str, list[Any]] = {
        field: [getattr(account, field), value]
        for field, value in wanted.items()
        if getattr(account, field) != value
    }
    if not changes:
        return account
    if "role" in changes and account.role == Role.ADMIN.value:
        if await _other_active_admins(session, account.id) == 0:
            raise Conflict(f"user {user_id} is the last active admin and must stay one")
    for field, (_, new) in changes.items():
        setattr(account, field, new)
    audit(session, account, "updated", changes, caller.id)
    await emit(session, registered(account), actor=caller.id)
    return account


async def offboard(
    session: AsyncSession, user_id: uuid.UUID, reassign_to: uuid.UUID, caller: User
) -> Handover:
    """Deactivate `user_id` and hand everything they own to `reassign_to`.

    One transaction: the user can no longer log in, the change is audited, the
    hand-over is recorded, and `UserDeactivated` then `PortfolioReassigned` are in
    the outbox; every service moves its own records when it gets the latter.
    """
    await _lock_staff(session)
    await require_active(session, caller, Role.ADMIN)
    leaving = await session.get(UserAccount, user_id, with_for_update=True)
    if leaving is None:
        raise NotFound(user_id)
    if not leaving.active:
        raise Conflict(f"user {user_id} is already offboarded")
    if reassign_to == user_id:
        raise InvalidTarget("reassign_to must be another user than the one leaving")
    target = await session.get(UserAccount, reassign_to, with_for_update=True)
    if target is None:
        raise InvalidTarget(f"user {reassign_to} does not exist")
    if not target.active:
        raise InvalidTarget(f"user {reassign_to} is offboarded")
    if leaving.role == Role.ADMIN.value and await _other_active_admins(session, leaving.id) == 0:
        raise Conflict(f"user {user_id} is the last active admin and cannot be offboarded")

    now = datetime.now(UTC)
    leaving.active = False
    await directory.announce_deactivation(session)
    audit(session, leaving, "offboarded", {"active": [True, False]}, caller.id, at=now)
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


async def set_language(session: AsyncSession, caller: User, language: str) -> UserAccount:
    """A preference, not a change to the person: not audited, not announced."""
    account = await session.get(UserAccount, caller.id, with_for_update=True)
    if account is None or not account.active:
        raise CallerDeactivated(caller.id)
    account.language = language
    return account


async def get_existing(session: AsyncSession, user_id: uuid.UUID) -> UserAccount:
    account = await session.get(UserAccount, user_id)
    if account is None:
        raise NotFound(user_id)
    return account


async def list_handovers(
    session: AsyncSession, user_id: uuid.UUID, page: PageParams
) -> tuple[list[Handover], int]:
    """Hand-overs from or to the user, newest first."""
    await get_existing(session, user_id)
    stmt = select(Handover).where(or_(Handover.from_user_id == user_id, Handover.to_user_id == user_id))
    return await fetch_page(session, stmt, page, Handover.requested_at.desc(), Handover.id)


async def list_audit(
    session: AsyncSession, user_id: uuid.UUID, page: PageParams
) -> tuple[list[UserAudit], int]:
    """The user's audit trail, newest first."""
    await get_existing(session, user_id)
    stmt = select(UserAudit).where(UserAudit.user_id == user_id)
    return await fetch_page(session, stmt, page, UserAudit.at.desc(), UserAudit.id)
