"""Events accounting reacts to."""

from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import CustomerPromotedToTraditional, CustomerReassigned, Envelope
from crm_kit.bus import Handlers

from . import service
from .settings import Settings

handlers = Handlers()
settings = Settings()


@handlers.handles(CustomerPromotedToTraditional)
async def open_account(
    session: AsyncSession, event: CustomerPromotedToTraditional, envelope: Envelope
) -> None:
    await service.open_account(session, event, settings.default_credit_limit)


@handlers.handles(CustomerReassigned)
async def customer_reassigned(session: AsyncSession, event: CustomerReassigned, envelope: Envelope) -> None:
    await service.customer_reassigned(session, event)
