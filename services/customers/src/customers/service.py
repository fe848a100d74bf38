"""Use cases of the customers service. Each takes a session inside the caller's
transaction and writes its events to the outbox in that same transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import CustomerPromotedToTraditional, CustomerRegistered
from crm_kit.auth import User
from crm_kit.http import PageParams
from crm_kit.outbox import emit
from crm_kit.queries import fetch_page, visible_to

from . import domain
from .models import Customer, TimelineEntry
from .schemas import CustomerCreate


class NotFound(Exception):
    pass


async def register_prospect(session: AsyncSession, data: CustomerCreate, user: User) -> Customer:
    customer = Customer(
        id=uuid.uuid4(),
        **data.model_dump(),
        owner_id=user.id,
        lifecycle_stage=domain.Stage.PROSPECT,
    )
    session.add(customer)
    await session.flush()
    _record(session, customer, "registered", user.id, {"stage": customer.lifecycle_stage})
    await emit(
        session,
        CustomerRegistered(
            customer_id=customer.id,
            name=customer.name,
            lifecycle_stage="prospect",
            owner_id=customer.owner_id,
            region_code=customer.region_code,
            channel_id=customer.channel_id,
        ),
        actor=user.id,
    )
    return customer


async def get_visible(
    session: AsyncSession, customer_id: uuid.UUID, user: User, *, for_update: bool = False
) -> Customer:
    """The customer if the caller may see it; a stranger's record is 'not found'."""
    stmt = select(Customer).where(Customer.id == customer_id)
    if for_update:
        stmt = stmt.with_for_update()
    customer = (await session.execute(stmt)).scalar_one_or_none()
    if customer is None or not user.can_see(customer.owner_id):
        raise NotFound(customer_id)
    return customer


async def list_visible(
    session: AsyncSession,
    user: User,
    page: PageParams,
    *,
    stage: domain.Stage | None = None,
    q: str | None = None,
) -> tuple[list[Customer], int]:
    stmt = visible_to(select(Customer), Customer.owner_id, user)
    if stage is not None:
        stmt = stmt.where(Customer.lifecycle_stage == stage)
    if q:
        stmt = stmt.where(Customer.name.ilike(f"%{q}%"))
    return await fetch_page(session, stmt, page, Customer.created_at.desc(), Customer.id)


async def promote(session: AsyncSession, customer_id: uuid.UUID, user: User) -> Customer:
    """Make the customer traditional; idempotent (a second call changes nothing)."""
    customer = await get_visible(session, customer_id, user, for_update=True)
    if not domain.promotion(domain.Stage(customer.lifecycle_stage)):
        return customer
    previous = customer.lifecycle_stage
    customer.lifecycle_stage = domain.Stage.TRADITIONAL
    customer.promoted_at = datetime.now(UTC)
    _record(session, customer, "stage_changed", user.id, {"from": previous, "to": "traditional"})
    await emit(
        session,
        CustomerPromotedToTraditional(
            customer_id=customer.id,
            name=customer.name,
            owner_id=customer.owner_id,
            region_code=customer.region_code,
            channel_id=customer.channel_id,
            promoted_at=customer.promoted_at,
        ),
        actor=user.id,
    )
    return customer


async def timeline(session: AsyncSession, customer_id: uuid.UUID, user: User) -> list[TimelineEntry]:
    await get_visible(session, customer_id, user)
    rows = await session.execute(
        select(TimelineEntry).where(TimelineEntry.customer_id == customer_id).order_by(TimelineEntry.id)
    )
    return list(rows.scalars())


def _record(
    session: AsyncSession, customer: Customer, kind: str, actor: uuid.UUID | None, detail: dict[str, Any]
) -> None:
    session.add(TimelineEntry(customer_id=customer.id, kind=kind, actor_id=actor, detail=detail))
