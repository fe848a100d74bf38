"""Events sales reacts to."""

from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import CustomerPromotedToTraditional, CustomerReassigned, Envelope
from crm_kit.bus import Handlers

from . import service

handlers = Handlers()


@handlers.handles(CustomerPromotedToTraditional)
async def open_customer(
    session: AsyncSession, event: CustomerPromotedToTraditional, envelope: Envelope
) -> None:
    await service.open_customer(session, event)


@handlers.handles(CustomerReassigned)
async def customer_reassigned(session: AsyncSession, event: CustomerReassigned, envelope: Envelope) -> None:
    await service.customer_reassigned(session, event)
