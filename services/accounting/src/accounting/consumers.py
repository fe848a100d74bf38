"""Events accounting reacts to: decode, then hand to the use case."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import (
    ChannelChanged,
    CustomerPromotedToTraditional,
    Envelope,
    OrderCancelled,
    OrderPlaced,
    QuoteSubmittedForApproval,
)
from crm_kit import directory
from crm_kit.handlers import Handlers

from . import accounts, cancellations, commitments, credit, credit_policy, customers, invoices
from .settings import Settings


def build_handlers(settings: Settings) -> Handlers:
    """The handlers of one service process, configured by its settings."""
    handlers = Handlers()
    # The staff directory: a deactivated member of staff's token is refused (401).
    directory.register(handlers)
    customers.register(handlers, settings.default_credit_limit)
    commitments.register(handlers)

    @handlers.handles_many(CustomerPromotedToTraditional)
    async def open_accounts(
        session: AsyncSession, promotions: Sequence[tuple[CustomerPromotedToTraditional, Envelope]]
    ) -> None:
        await accounts.open_for(session, [event for event, _ in promotions], settings.default_credit_limit)

    @handlers.handles(QuoteSubmittedForApproval)
    async def check_credit(
        session: AsyncSession, event: QuoteSubmittedForApproval, envelope: Envelope
    ) -> None:
        await credit.check(session, event, envelope, settings.default_credit_limit, settings.today())

    @handlers.handles(ChannelChanged)
    async def channel_changed(session: AsyncSession, event: ChannelChanged, envelope: Envelope) -> None:
        await credit_policy.channel_changed(session, event, settings.default_credit_limit)

    @handlers.handles(OrderPlaced)
    async def invoice_order(session: AsyncSession, event: OrderPlaced, envelope: Envelope) -> None:
        # Raises `Transient` while the customer's account is not open: the order
        # waits in the retry queue and is invoiced once the promotion has arrived.
        await invoices.invoice_order(session, event)

    @handlers.handles(OrderCancelled)
    async def order_cancelled(session: AsyncSession, event: OrderCancelled, envelope: Envelope) -> None:
        # Before its order: never invoiced; after its invoice: credited, or flagged when paid.
        await cancellations.order_cancelled(session, event, settings.today())

    return handlers
