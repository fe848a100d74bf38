"""Use cases of sales; each runs in the caller's transaction."""

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

from .models import SalesCustomer


class NotFound(Exception):
    pass


async def open_customer(session: AsyncSession, event: CustomerPromotedToTraditional) -> None:
    """Open a traditional customer for quoting and ordering, once."""
    owner_id = await ownership.record_owner(session, event.customer_id, event.owner_id, event.promoted_at)
    await session.execute(
        insert(SalesCustomer)
        .values(
            id=event.customer_id,
            name=event.name,
            owner_id=owner_id,
            region_code=event.region_code,
            channel_id=event.channel_id,
            promoted_at=event.promoted_at,
        )
        .on_conflict_do_nothing(index_elements=[SalesCustomer.id])
    )


async def get_customer(session: AsyncSession, customer_id: uuid.UUID, user: User) -> SalesCustomer:
    customer = await session.get(SalesCustomer, customer_id)
    if customer is None or not user.can_see(customer.owner_id):
        raise NotFound(customer_id)
    return customer


async def list_customers(
    session: AsyncSession, user: User, page: PageParams
) -> tuple[list[SalesCustomer], int]:
    stmt = visible_to(select(SalesCustomer), SalesCustomer.owner_id, user)
    return await fetch_page(session, stmt, page, SalesCustomer.opened_at.desc(), SalesCustomer.id)


async def customer_reassigned(session: AsyncSession, event: CustomerReassigned) -> None:
    """Sales' copy of a customer follows the customer's owner, whichever event came first."""
    owner_id = await ownership.record_owner(
        session, event.customer_id, event.to_owner_id, event.reassigned_at
    )
    await session.execute(
        update(SalesCustomer).where(SalesCustomer.id == event.customer_id).values(owner_id=owner_id)
    )


async def holdings(session: AsyncSession, user_id: uuid.UUID) -> dict[str, int]:
    count = await session.scalar(select(func.count()).where(SalesCustomer.owner_id == user_id))
    return {"customers": int(count or 0)}
