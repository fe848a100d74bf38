"""Events marketing reacts to: customer events feed its campaign audiences."""

from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import CustomerPromotedToTraditional, CustomerRegistered, Envelope
from crm_kit.bus import Handlers

from . import service

handlers = Handlers()


@handlers.handles(CustomerRegistered)
async def customer_registered(session: AsyncSession, event: CustomerRegistered, envelope: Envelope) -> None:
    await service.customer_registered(session, event)


@handlers.handles(CustomerPromotedToTraditional)
async def customer_promoted(
    session: AsyncSession, event: CustomerPromotedToTraditional, envelope: Envelope
) -> None:
    await service.customer_promoted(session, event)
