"""The campaigns marketing launched, as leads knows them (from CampaignLaunched):
what a lead can be captured for."""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import CampaignLaunched

from .models import Campaign


async def launched(session: AsyncSession, event: CampaignLaunched) -> None:
    values = {"name": event.name, "starts_on": event.starts_on, "ends_on": event.ends_on}
    await session.execute(
        pg_insert(Campaign)
        .values(id=event.campaign_id, launched_at=event.launched_at, **values)
        .on_conflict_do_update(index_elements=[Campaign.id], set_=values)
    )


async def running(session: AsyncSession, today: date) -> list[Campaign]:
    """Campaigns a lead may be captured for today: started, and not yet ended."""
    rows = await session.execute(
        select(Campaign)
        .where(Campaign.starts_on <= today, or_(Campaign.ends_on.is_(None), Campaign.ends_on >= today))
        .order_by(Campaign.starts_on.desc(), Campaign.name)
    )
    return list(rows.scalars())
