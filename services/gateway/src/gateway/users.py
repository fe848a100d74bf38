"""Users: creating them (and seeding `admin`), reading them, changing a name, a role or
the UI language, and the audit trail. Each takes a session inside the caller's
transaction; offboarding is `offboarding.py`, logging in `login.py`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import HTTPException, status
from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import UserRegistered
from crm_kit import directory, errors
from crm_kit.auth import Role, User
from crm_kit.http import PageParams
from crm_kit.outbox import emit
from crm_kit.queries import fetch_page

from . import passwords
from .domain import AuditAction
from .models import UserAccount, UserAudit
from .schemas import UserCreate, UserUpdate

ADMIN_USERNAME = "admin"
ADMIN_FULL_NAME = "Administrator"

#: Who sees every user; anyone else sees only themselves.
SEES_ALL_USERS = frozenset({Role.ADMIN, Role.SALES_MANAGER})

#: Transaction-level advisory lock taken by every operation that can take away an
#: admin (offboarding, a role change), so two of them at once cannot both leave
#: the other as the last admin and then remove them too.
STAFF_LOCK = 0x6761_7465_7761_7901  # "gatewa" + 1


# -- who may change users --------------------------------------------------------------


async def require_active(session: AsyncSession, caller: User, role: Role) -> UserAccount:
    """The caller's account, if it is still active and still has `role`.

    Tokens outlive a deactivation or a role change until they expire; the gateway's
    own changes to users check the account itself so a stale token cannot make them.
    """
    account = await session.get(UserAccount, caller.id)
    if account is None or not account.active:
        raise deactivated()
    if account.role != role:
        raise errors.Forbidden(f"needs role {role}", code="role_needed", params={"roles": [str(role)]})
    return account


def deactivated() -> HTTPException:
    """The answer `crm_kit.auth.authenticate` gives a deactivated account's token (401 with
    its challenge header, which a `DomainError` cannot carry): the token is valid, but
    its account was offboarded since it was issued."""
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        errors.coded("token_refused", "account deactivated"),
        headers={"WWW-Authenticate": "Bearer"},
    )


async def lock_staff(session: AsyncSession) -> None:
    await session.execute(select(func.pg_advisory_xact_lock(STAFF_LOCK)))


async def keep_an_admin(session: AsyncSession, account: UserAccount, refusal: str) -> None:
    """Conflict (`refusal`) if `account` is the last active admin; under `lock_staff`."""
    if account.role != Role.ADMIN:
        return
    others = (
        select(func.count())
        .select_from(UserAccount)
        .where(UserAccount.role == Role.ADMIN, UserAccount.active, UserAccount.id != account.id)
    )
    if int((await session.execute(others)).scalar_one()) == 0:
        raise errors.Conflict(
            refusal, code="user.last_admin", params={"user": account.id, "username": account.username}
        )


# -- the record of every change --------------------------------------------------------


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
    action: AuditAction,
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


async def list_audit(
    session: AsyncSession, user_id: uuid.UUID, page: PageParams
) -> tuple[list[UserAudit], int]:
    """The user's audit trail, newest first."""
    await get_existing(session, user_id)
    stmt = select(UserAudit).where(UserAudit.user_id == user_id)
    return await fetch_page(session, stmt, page, UserAudit.at.desc(), UserAudit.id)


# -- creating ------------------------------------------------------------------------------


async def create_user(session: AsyncSession, data: UserCreate, actor: uuid.UUID | None = None) -> UserAccount:
    password_hash = await passwords.hash_password(data.password)
    account = await _insert(session, data.username, data.full_name, data.role, password_hash)
    if account is None:
        raise errors.Conflict(
            f"username {data.username!r} is taken",
            code="user.username_taken",
            params={"username": data.username},
        )
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
    password_hash = await passwords.hash_password(password)
    account = await _insert(session, ADMIN_USERNAME, ADMIN_FULL_NAME, Role.ADMIN, password_hash)
    if account is None:
        return False
    # Only the replica whose insert won announces the admin.
    await _registered_now(session, account, None)
    return True


async def _insert(
    session: AsyncSession, username: str, full_name: str, role: Role, password_hash: str
) -> UserAccount | None:
    """The new active account, or None when the username is taken."""
    # ON CONFLICT instead of catching IntegrityError: the transaction stays usable
    # and two concurrent requests for one name cannot both succeed.
    stmt = (
        insert(UserAccount)
        .values(
            id=uuid.uuid4(),
            username=username,
            full_name=full_name,
            role=role.value,
            password_hash=password_hash,
            active=True,
        )
        .on_conflict_do_nothing(index_elements=["username"])
        .returning(UserAccount)
    )
    return (await session.execute(select(UserAccount).from_statement(stmt))).scalar_one_or_none()


async def _registered_now(session: AsyncSession, account: UserAccount, actor: uuid.UUID | None) -> None:
    """Audit the creation of `account` and announce it, in the session's transaction."""
    audit(
        session,
        account,
        AuditAction.CREATED,
        {field: [None, getattr(account, field)] for field in ("username", "full_name", "role")},
        actor,
        at=account.created_at,
    )
    await emit(session, registered(account), actor=actor)


# -- reading -------------------------------------------------------------------------------


async def get_visible(session: AsyncSession, user_id: uuid.UUID, caller: User) -> UserAccount:
    """The user if the caller may see it; anyone else's record is 'not found'."""
    if caller.role not in SEES_ALL_USERS and caller.id != user_id:
        raise errors.NotFound("user", user_id)
    return await get_existing(session, user_id)


async def get_existing(session: AsyncSession, user_id: uuid.UUID) -> UserAccount:
    account = await session.get(UserAccount, user_id)
    if account is None:
        raise errors.NotFound("user", user_id)
    return account


async def list_users(
    session: AsyncSession,
    page: PageParams,
    *,
    q: str | None = None,
    role: Role | None = None,
    active: bool | None = None,
) -> tuple[list[UserAccount], int]:
    """Users by username; `q` finds a part of the username or the full name (any case)."""
    stmt = select(UserAccount)
    if q:
        text = q.strip()
        stmt = stmt.where(
            or_(
                UserAccount.username.icontains(text, autoescape=True),
                UserAccount.full_name.icontains(text, autoescape=True),
            )
        )
    if role is not None:
        stmt = stmt.where(UserAccount.role == role)
    if active is not None:
        stmt = stmt.where(UserAccount.active.is_(active))
    return await fetch_page(session, stmt, page, UserAccount.username)


#: The most members of staff the names directory answers: a distributor's staff, not its customers.
MAX_DIRECTORY = 5000


async def staff_directory(session: AsyncSession) -> list[UserAccount]:
    """Every member of staff, offboarded ones too (their names stay on old records), by name."""
    stmt = select(UserAccount).order_by(UserAccount.full_name, UserAccount.id).limit(MAX_DIRECTORY)
    return list((await session.execute(stmt)).scalars())


async def list_salespeople(session: AsyncSession, page: PageParams) -> tuple[list[UserAccount], int]:
    """Active salespeople, by name."""
    stmt = select(UserAccount).where(UserAccount.active, UserAccount.role == Role.SALESPERSON)
    return await fetch_page(session, stmt, page, UserAccount.full_name, UserAccount.username)


# -- changing ------------------------------------------------------------------------------


async def update_user(
    session: AsyncSession, user_id: uuid.UUID, data: UserUpdate, caller: User
) -> UserAccount:
    """Change a user's name or role, audit it and announce the new values.

    Nothing is written when nothing differs. An offboarded user is not changed.
    """
    if data.role is not None:
        await lock_staff(session)
    await require_active(session, caller, Role.ADMIN)
    account = await session.get(UserAccount, user_id, with_for_update=True)
    if account is None:
        raise errors.NotFound("user", user_id)
    if not account.active:
        raise errors.Conflict(
            f"user {user_id} is offboarded", code="user.offboarded", params={"user": user_id}
        )
    changes = _changes(account, data)
    if not changes:
        return account
    if "role" in changes:
        await keep_an_admin(session, account, f"user {user_id} is the last active admin and must stay one")
    for field, (_, new) in changes.items():
        setattr(account, field, new)
    audit(session, account, AuditAction.UPDATED, changes, caller.id)
    await emit(session, registered(account), actor=caller.id)
    if "role" in changes:
        # Tokens of the old role are refused from the next request on, here and (once
        # `UserRegistered` arrives) in every service.
        await directory.announce_deactivation(session)
    return account


def _changes(account: UserAccount, data: UserUpdate) -> dict[str, list[Any]]:
    """`{field: [old, new]}` for each field `data` sets to something else."""
    wanted: dict[str, str] = {}
    if data.full_name is not None:
        wanted["full_name"] = data.full_name
    if data.role is not None:
        wanted["role"] = data.role.value
    return {
        field: [getattr(account, field), value]
        for field, value in wanted.items()
        if getattr(account, field) != value
    }


async def set_language(session: AsyncSession, caller: User, language: str) -> UserAccount:
    """A preference, not a change to the person: not audited, not announced."""
    account = await session.get(UserAccount, caller.id, with_for_update=True)
    if account is None or not account.active:
        raise deactivated()
    account.language = language
    return account
