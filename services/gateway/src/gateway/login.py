"""Logging in: who the credentials belong to, and what their token says about them."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import TokenRevoked
from crm_kit import directory, revocation
from crm_kit.auth import Role, User, Verified
from crm_kit.db import Database
from crm_kit.outbox import emit

from . import domain, passwords
from .models import UserAccount


def as_principal(account: UserAccount) -> User:
    """What a token issued to `account` says about it."""
    return User(id=account.id, username=account.username, role=Role(account.role))


class Refusal(StrEnum):
    """Why a login was refused. A wrong username and a wrong password are one refusal, so
    the answer does not tell which names exist; only the holder of an account's right
    password learns that it was deactivated."""

    BAD_CREDENTIALS = "bad_credentials"
    DEACTIVATED = "deactivated"


async def authenticate(db: Database, username: str, password: str) -> UserAccount | Refusal:
    """The active user with these credentials, or why not.

    A password is checked even when the user is missing or inactive, so the answer
    takes as long either way and timing does not tell which names exist. The hash is
    checked with no database connection held: a flood of logins cannot take the pool.
    """
    try:
        name = domain.normalise_username(username)
    except ValueError:
        name = None
    account = None
    if name is not None:
        async with db.transaction() as session:
            stmt = select(UserAccount).where(UserAccount.username == name)
            account = (await session.execute(stmt)).scalar_one_or_none()
    if account is None:
        await passwords.verify_dummy(password)
        return Refusal.BAD_CREDENTIALS
    if not await passwords.verify_password(account.password_hash, password):
        return Refusal.BAD_CREDENTIALS
    if not account.active:
        return Refusal.DEACTIVATED
    if passwords.needs_rehash(account.password_hash):
        # Hashing parameters were raised since this hash was made: upgrade it now,
        # the only moment the plain password is at hand.
        upgraded = await passwords.hash_password(password)
        async with db.transaction() as session:
            await session.execute(
                update(UserAccount).where(UserAccount.id == account.id).values(password_hash=upgraded)
            )
    return account


async def log_out(session: AsyncSession, verified: Verified) -> None:
    """End the token everywhere: refused here at commit, and in every service as soon
    as it handles `TokenRevoked`."""
    if verified.token_id is None:
        return  # a token from before tokens had ids: it can only expire
    user_id = verified.user.id
    expires_at = datetime.fromtimestamp(verified.expires_at, UTC)
    await revocation.revoke(session, token_id=verified.token_id, user_id=user_id, expires_at=expires_at)
    await directory.announce_deactivation(session)
    event = TokenRevoked(user_id=user_id, token_id=verified.token_id, expires_at=expires_at)
    await emit(session, event, actor=user_id)
