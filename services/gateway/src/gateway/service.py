"""Use cases of the gateway. Each takes a session inside the caller's transaction."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_kit.auth import Role, User
from crm_kit.http import PageParams
from crm_kit.queries import fetch_page

from . import domain, passwords
from .models import UserAccount
from .schemas import UserCreate

ADMIN_USERNAME = "admin"
ADMIN_FULL_NAME = "Administrator"

#: Who sees every user; anyone else sees only themselves.
SEES_ALL_USERS = frozenset({Role.ADMIN, Role.SALES_MANAGER})


class NotFound(Exception):
    pass


class UsernameTaken(Exception):
    def __init__(self, username: str) -> None:
        super().__init__(f"username {username!r} is taken")


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


async def create_user(session: AsyncSession, data: UserCreate) -> UserAccount:
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
        .returning(UserAccount.id)
    )
    return (await session.execute(stmt)).first() is not None


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
