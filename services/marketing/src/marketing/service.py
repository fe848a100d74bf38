"""Marketing's read model of customers, kept from customer events."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import CustomerPromotedToTraditional, CustomerRegistered

from .models import CustomerProfile


async def customer_registered(session: AsyncSession, event: CustomerRegistered) -> None:
    # Events from different queues may arrive in any order: a registration that
    # comes after the promotion must not turn the customer back into a prospect.
    await session.execute(
        insert(CustomerProfile)
        .values(
            customer_id=event.customer_id,
            name=event.name,
            lifecycle_stage=event.lifecycle_stage,
            grade=event.grade,
            owner_id=event.owner_id,
            region_code=event.region_code,
            channel_id=event.channel_id,
        )
        .on_conflict_do_nothing(index_elements=[CustomerProfile.customer_id])
    )


async def customer_promoted(session: AsyncSession, event: CustomerPromotedToTraditional) -> None:
    values = {
        "name": event.name,
        "lifecycle_stage": "traditional",
        "owner_id": event.owner_id,
        "region_code": event.region_code,
        "channel_id": event.channel_id,
    }
    stmt = insert(CustomerProfile).values(customer_id=event.customer_id, **values)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[CustomerProfile.customer_id],
            set_={**values, "updated_at": func.now()},
        )
    )
