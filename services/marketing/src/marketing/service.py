"""Marketing's read models, kept from other services' events (never their databases).

Events from different queues arrive in any order, so each write is an upsert that
never moves a record backwards (a registration after a promotion leaves the
customer traditional; a capture after the decision leaves the outcome).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import (
    CustomerGraded,
    CustomerPromotedToTraditional,
    CustomerReassigned,
    CustomerRegistered,
    LeadCaptured,
    LeadDisqualified,
    LeadQualified,
)

from .models import CustomerProfile, LeadFact


async def customer_registered(session: AsyncSession, event: CustomerRegistered) -> None:
    stmt = insert(CustomerProfile).values(
        customer_id=event.customer_id,
        name=event.name,
        lifecycle_stage=event.lifecycle_stage,
        grade=event.grade,
        owner_id=event.owner_id,
        region_code=event.region_code,
        channel_id=event.channel_id,
    )
    # Later events (promotion, grade, new owner) may have come first and made a
    # placeholder: fill in what it lacks, keep what they said.
    current = CustomerProfile.__table__.c
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[CustomerProfile.customer_id],
            set_={
                "name": stmt.excluded.name,
                "region_code": func.coalesce(current.region_code, stmt.excluded.region_code),
                "channel_id": func.coalesce(current.channel_id, stmt.excluded.channel_id),
                "owner_id": func.coalesce(current.owner_id, stmt.excluded.owner_id),
                "grade": func.coalesce(current.grade, stmt.excluded.grade),
                "updated_at": func.now(),
            },
        )
    )


async def customer_promoted(session: AsyncSession, event: CustomerPromotedToTraditional) -> None:
    await _upsert_profile(
        session,
        event.customer_id,
        name=event.name,
        lifecycle_stage="traditional",
        owner_id=event.owner_id,
        region_code=event.region_code,
        channel_id=event.channel_id,
    )


async def customer_graded(session: AsyncSession, event: CustomerGraded) -> None:
    # A grade may arrive before the registration: keep it on a placeholder row that
    # the registration will not overwrite, and that it completes below.
    await _upsert_profile(session, event.customer_id, grade=event.grade)


async def customer_reassigned(session: AsyncSession, event: CustomerReassigned) -> None:
    await _upsert_profile(session, event.customer_id, owner_id=event.to_owner_id)


async def _upsert_profile(session: AsyncSession, customer_id: Any, **values: Any) -> None:
    placeholder = {"name": "", "lifecycle_stage": "prospect", **values}
    await session.execute(
        insert(CustomerProfile)
        .values(customer_id=customer_id, **placeholder)
        .on_conflict_do_update(
            index_elements=[CustomerProfile.customer_id], set_={**values, "updated_at": func.now()}
        )
    )


async def lead_captured(session: AsyncSession, event: LeadCaptured) -> None:
    facts = {
        "owner_id": event.owner_id,
        "source": event.source,
        "region_code": event.region_code,
        "channel_id": event.channel_id,
        "campaign_id": event.campaign_id,
        "captured_at": event.captured_at,
    }
    await session.execute(
        insert(LeadFact)
        .values(lead_id=event.lead_id, outcome="captured", **facts)
        .on_conflict_do_update(index_elements=[LeadFact.lead_id], set_=facts)
    )


async def lead_decided(session: AsyncSession, event: LeadQualified | LeadDisqualified) -> None:
    qualified = isinstance(event, LeadQualified)
    decision = {
        "outcome": "qualified" if qualified else "disqualified",
        "customer_id": event.customer_id if isinstance(event, LeadQualified) else None,
        "decided_at": event.qualified_at if isinstance(event, LeadQualified) else event.disqualified_at,
        "owner_id": event.owner_id,
        "source": event.source,
        "region_code": event.region_code,
        "channel_id": event.channel_id,
        "campaign_id": event.campaign_id,
    }
    await session.execute(
        insert(LeadFact)
        .values(lead_id=event.lead_id, **decision)
        .on_conflict_do_update(index_elements=[LeadFact.lead_id], set_=decision)
    )
