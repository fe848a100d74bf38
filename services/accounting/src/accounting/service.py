"""Use cases of accounting; each runs in the caller's transaction."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import CustomerPromotedToTraditional, CustomerReassigned
from crm_kit import ownership
from crm_kit.auth import User
from crm_kit.http import PageParams
from crm_kit.queries import fetch_page, visible_to

from .models import Account


class NotFound(Exception):
    pass


async def open_account(
    session: AsyncSession, event: CustomerPromotedToTraditional, default_credit_limit: int
) -> None:
    """Open the customer's account once; a second promotion leaves it as it is."""
    owner_id = await ownership.record_owner(session, event.customer_id, event.owner_id, event.promoted_at)
    await session.execute(
        insert(Account)
        .values(
            customer_id=event.customer_id,
            customer_name=event.name,
            owner_id=owner_id,
            currency="VND",
            credit_limit=default_credit_limit,
            balance=0,
        )
        .on_conflict_do_nothing(index_elements=[Account.customer_id])
    )


async def get_visible(
    session: AsyncSession, customer_id: uuid.UUID, user: User, *, for_update: bool = False
) -> Account:
    stmt = select(Account).where(Account.customer_id == customer_id)
    if for_update:
        stmt = stmt.with_for_update()
    account = (await session.execute(stmt)).scalar_one_or_none()
    if account is None or not user.can_see(account.owner_id):
        raise NotFound(customer_id)
    return account


async def list_visible(session: AsyncSession, user: User, page: PageParams) -> tuple[list[Account], int]:
    stmt = visible_to(select(Account), Account.owner_id, user)
    return await fetch_page(session, stmt, page, Account.opened_at.desc(), Account.customer_id)


async def set_credit_limit(
    session: AsyncSession, customer_id: uuid.UUID, credit_limit: int, user: User
) -> Account:
    account = await get_visible(session, customer_id, user, for_update=True)
    account.credit_limit = credit_limit
    await session.flush()
    return account


async def customer_reassigned(session: AsyncSession, event: CustomerReassigned) -> None:
    """The account's owner follows the customer's, whichever event came first."""
    owner_id = await ownership.record_owner(
        session, event.customer_id, event.to_owner_id, event.reassigned_at
    )
    await session.execute(
        update(Account).where(Account.customer_id == event.customer_id).values(owner_id=owner_id)
    )


async def holdings(session: AsyncSession, user_id: uuid.UUID) -> dict[str, int]:
    count = await session.scalar(select(func.count()).where(Account.owner_id == user_id))
    return {"accounts": int(count or 0)}
