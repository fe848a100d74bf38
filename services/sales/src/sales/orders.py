"""Orders: one per accepted quote, placed once its customer is traditional (when the quote
is accepted, or when the customer's promotion arrives), announced with OrderPlaced."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import OrderLine as OrderLineEvent
from crm_contracts import OrderPlaced
from crm_kit import errors, outbox
from crm_kit.auth import User
from crm_kit.http import PageParams
from crm_kit.queries import fetch_page, visible_to

from . import domain, performance
from .common import audit, next_number, utc_now, where_given
from .domain import AuditAction, Audited, OrderStatus
from .models import Order, OrderLine, Quote, SalesCustomer
from .performance_rules import FactKind
from .settings import Settings


async def place_order(
    session: AsyncSession, quote: Quote, customer: SalesCustomer, settings: Settings, actor: uuid.UUID | None
) -> Order:
    """The order of an accepted quote, once: `orders.quote_id` is unique."""
    existing = await session.scalar(select(Order).where(Order.quote_id == quote.id))
    if existing is not None:
        return existing
    order = await _new_order(session, quote, customer, settings)
    session.add(order)
    await session.flush()
    session.add_all(OrderLine.copy_of(line, order_id=order.id) for line in quote.lines)
    await session.flush()
    await session.refresh(order, ["lines"])
    await outbox.emit(session, _order_placed(order), actor=actor)
    await performance.record_fact(
        session,
        FactKind.ORDER_PLACED,
        order.id,
        owner_id=order.owner_id,
        channel_id=order.channel_id,
        region_code=order.region_code,
        occurred_at=order.placed_at,
        amount=order.net_total,
    )
    changes = {"number": order.number, "quote_id": str(quote.id)}
    await audit(session, Audited.ORDER, order.id, AuditAction.PLACED, actor, changes)
    return order


async def _new_order(
    session: AsyncSession, quote: Quote, customer: SalesCustomer, settings: Settings
) -> Order:
    """The quote's totals, with the customer's name, region and channel as sales knows them now."""
    now = utc_now()
    today = settings.local_date(now)
    return Order(
        id=uuid.uuid4(),
        number=await next_number(session, domain.ORDER_NUMBER, today.year),
        quote_id=quote.id,
        customer_id=customer.id,
        customer_name=customer.name,
        opportunity_id=quote.opportunity_id,
        owner_id=quote.owner_id,
        region_code=customer.region_code,
        channel_id=customer.channel_id,
        currency=quote.currency,
        net_total=quote.net_total,
        vat_total=quote.vat_total,
        total=quote.total,
        status=OrderStatus.PLACED,
        needs_contract=domain.needs_contract(quote.total, settings.contract_threshold),
        payment_terms_days=settings.payment_terms_days,
        order_date=today,
        placed_at=now,
    )


def _order_placed(order: Order) -> OrderPlaced:
    return OrderPlaced(
        order_id=order.id,
        order_number=order.number,
        quote_id=order.quote_id,
        customer_id=order.customer_id,
        owner_id=order.owner_id,
        region_code=order.region_code,
        channel_id=order.channel_id,
        lines=[
            OrderLineEvent(
                product_code=line.product_code,
                product_name=line.product_name,
                product_group=line.product_group,
                unit=line.unit,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount_pct=float(line.discount_pct),
                vat_rate_pct=float(line.vat_rate_pct),
                net_amount=line.net_amount,
                vat_amount=line.vat_amount,
            )
            for line in order.lines
        ],
        net_total=order.net_total,
        vat_total=order.vat_total,
        total=order.total,
        currency=order.currency,
        payment_terms_days=order.payment_terms_days,
        placed_at=order.placed_at,
        order_date=order.order_date,
    )


async def get_order(session: AsyncSession, order_id: uuid.UUID, user: User, *, lock: bool = False) -> Order:
    order = await session.get(Order, order_id, with_for_update=lock or None)
    if order is None or not user.can_see(order.owner_id):
        raise errors.NotFound("order", order_id)
    return order


async def list_orders(
    session: AsyncSession,
    user: User,
    page: PageParams,
    *,
    customer_id: uuid.UUID | None = None,
    quote_id: uuid.UUID | None = None,
) -> tuple[list[Order], int]:
    stmt = where_given(
        visible_to(select(Order), Order.owner_id, user),
        (Order.customer_id, customer_id),
        (Order.quote_id, quote_id),
    )
    return await fetch_page(session, stmt, page, Order.placed_at.desc(), Order.id)
