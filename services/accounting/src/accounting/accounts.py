"""Use cases of accounts: opening one for each promoted customer, reading them, the
credit limit, the balance the books move, and what a member of staff holds.

Each runs in the caller's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import CustomerPromotedToTraditional
from crm_kit import audit, customer_copy
from crm_kit.auth import User
from crm_kit.customer_copy import Fact
from crm_kit.db import table_of
from crm_kit.http import PageParams
from crm_kit.queries import fetch_page, one_visible, visible_to

from . import credit_policy, domain
from .models import Account


async def open_for(
    session: AsyncSession, promotions: Sequence[CustomerPromotedToTraditional], default_credit_limit: int
) -> None:
    """Open each promoted customer's account once; a second promotion leaves it as it is.

    Set-based (two statements however many promotions arrived together): accounts are
    opened where a promotion arrives, so this is accounting's busiest path.
    """
    if not promotions:
        return
    # The newest name and owner: an edit or a hand-over may have overtaken the promotion.
    # An open account takes later ones from those (`customers.follow`), never from another
    # promotion.
    known = await customer_copy.record(session, [Fact.of_promotion(event) for event in promotions])
    # The credit policy's limit for each, by its grade and channel kind as known now; a
    # grade or channel arriving later moves it (`credit_policy.apply`).
    rules = await credit_policy.rules(session)
    kinds = await credit_policy.channel_kinds(session, [row.channel_id for row in known.values()])
    limits = {
        customer_id: domain.policy_limit(
            rules, row.grade, kinds.get(row.channel_id) if row.channel_id else None, default_credit_limit
        )
        for customer_id, row in known.items()
    }
    opened = await session.execute(
        _OPEN_ACCOUNTS,
        [
            {
                "customer_id": customer_id,
                "customer_name": known[customer_id].name,
                "owner_id": known[customer_id].owner_id,
                "currency": domain.CURRENCY,
                "credit_limit": limits[customer_id].credit_limit,
                "cash_only": limits[customer_id].cash_only,
                "credit_limit_source": domain.LimitSource.POLICY.value,
                "grade": known[customer_id].grade,
                "balance": 0,
            }
            for customer_id in sorted(known)
        ],
    )
    await audit.record_many(
        session,
        [
            {
                "entity": credit_policy.ACCOUNT,
                "entity_id": customer_id,
                "action": domain.LimitChange.OPENED.value,
                "actor_id": None,
                "before": {},
                "after": {
                    "credit_limit": limits[customer_id].credit_limit,
                    "cash_only": limits[customer_id].cash_only,
                    "grade": known[customer_id].grade,
                },
            }
            for customer_id in opened.scalars().all()
        ],
    )


#: Opens accounts; a customer's second promotion leaves its account as it is. Built once,
#: on the table (`table_of`), like the other hot statements.
_OPEN_ACCOUNTS = (
    insert(table_of(Account))
    .on_conflict_do_nothing(index_elements=["customer_id"])
    .returning(table_of(Account).c.customer_id)
)


async def get(
    session: AsyncSession, customer_id: uuid.UUID, user: User, *, for_update: bool = False
) -> Account:
    stmt = select(Account).where(Account.customer_id == customer_id)
    account: Account = await one_visible(
        session, stmt, user, kind="account of customer", key=customer_id, lock=for_update
    )
    return account


async def list_page(session: AsyncSession, user: User, page: PageParams) -> tuple[list[Account], int]:
    stmt = visible_to(select(Account), Account.owner_id, user)
    return await fetch_page(session, stmt, page, Account.opened_at.desc(), Account.customer_id)


async def names_of(session: AsyncSession, customer_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The account names of these customers (one page of a list), in one query."""
    if not customer_ids:
        return {}
    rows = await session.execute(
        select(Account.customer_id, Account.customer_name).where(Account.customer_id.in_(set(customer_ids)))
    )
    return {customer_id: name for customer_id, name in rows}


async def set_credit_limit(
    session: AsyncSession, customer_id: uuid.UUID, credit_limit: int, user: User, reason: str | None = None
) -> Account:
    """An accountant's limit, which stays until set again (the policy no longer moves it)."""
    account = await get(session, customer_id, user, for_update=True)
    return await credit_policy.set_by_hand(session, account, credit_limit, user, reason)


async def follow_policy(
    session: AsyncSession, customer_id: uuid.UUID, user: User, default: int, reason: str | None = None
) -> Account:
    """The account's limit goes back to the policy's, and follows it from now on."""
    account = await get(session, customer_id, user, for_update=True)
    return await credit_policy.follow_policy(session, account, user, default, reason)


async def move_balance(session: AsyncSession, customer_id: uuid.UUID, delta: int) -> None:
    await session.execute(
        update(Account)
        .where(Account.customer_id == customer_id)
        .values(balance=Account.balance + delta, updated_at=func.now())
    )


async def holdings(session: AsyncSession, user_id: uuid.UUID) -> dict[str, int]:
    """What the member of staff holds here (`GET /api/portfolio/{user_id}`): the accounts they own."""
    count = await session.scalar(select(func.count()).where(Account.owner_id == user_id))
    return {"accounts": int(count or 0)}
