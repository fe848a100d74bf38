"""Events marketing reacts to: customer and lead events feed campaign audiences and
results, orders feed revenue, staff events keep the directory and hand assignments over,
sales' product groups say what volumes and targets may name."""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import (
    CreditNoteIssued,
    CustomerPromotedToTraditional,
    CustomerRegistered,
    Envelope,
    LeadCaptured,
    LeadDisqualified,
    LeadQualified,
    OrderCancelled,
    OrderPlaced,
    PortfolioReassigned,
    ProductGroupChanged,
)
from crm_kit import customer_copy, directory
from crm_kit.handlers import Handlers

from . import product_groups, read_models

handlers = Handlers()
directory.register(handlers)
# Edits, new owners, deactivations, merges and grades go straight into marketing's copy of
# the customers, which campaign audiences read; a merge also moves revenue to the survivor.
customer_copy.register(handlers, graded=True, merged=read_models.customers_merged)


@handlers.handles_many(CustomerRegistered)
async def customers_registered(
    session: AsyncSession, registrations: Sequence[tuple[CustomerRegistered, Envelope]]
) -> None:
    await read_models.customers_registered(session, registrations)


@handlers.handles_many(CustomerPromotedToTraditional)
async def customers_promoted(
    session: AsyncSession, promotions: Sequence[tuple[CustomerPromotedToTraditional, Envelope]]
) -> None:
    await read_models.customers_promoted(session, [event for event, _ in promotions])


@handlers.handles(LeadCaptured)
async def lead_captured(session: AsyncSession, event: LeadCaptured, envelope: Envelope) -> None:
    await read_models.lead_captured(session, event)


@handlers.handles(LeadQualified)
async def lead_qualified(session: AsyncSession, event: LeadQualified, envelope: Envelope) -> None:
    await read_models.lead_decided(session, event)


@handlers.handles(LeadDisqualified)
async def lead_disqualified(session: AsyncSession, event: LeadDisqualified, envelope: Envelope) -> None:
    await read_models.lead_decided(session, event)


@handlers.handles(OrderPlaced)
async def order_placed(session: AsyncSession, event: OrderPlaced, envelope: Envelope) -> None:
    await read_models.order_placed(session, event)


@handlers.handles(OrderCancelled)
async def order_cancelled(session: AsyncSession, event: OrderCancelled, envelope: Envelope) -> None:
    await read_models.order_cancelled(session, event)


@handlers.handles(CreditNoteIssued)
async def credit_note_issued(session: AsyncSession, event: CreditNoteIssued, envelope: Envelope) -> None:
    await read_models.credit_note_issued(session, event)


@handlers.handles(PortfolioReassigned)
async def portfolio_reassigned(session: AsyncSession, event: PortfolioReassigned, envelope: Envelope) -> None:
    await read_models.portfolio_reassigned(session, event)


@handlers.handles(ProductGroupChanged)
async def product_group_changed(
    session: AsyncSession, event: ProductGroupChanged, envelope: Envelope
) -> None:
    await product_groups.changed(session, event)
