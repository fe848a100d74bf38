"""Orders: one per accepted quote, placed once its customer is traditional (when the quote
is accepted, or when the customer's promotion arrives), announced with OrderPlaced."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import CreditNoteIssued, InvoiceIssued, OrderCancelled, OrderPlaced
from crm_contracts import OrderLine as OrderLineEvent
from crm_kit import errors, outbox
from crm_kit.auth import User
from crm_kit.http import PageParams
from crm_kit.queries import fetch_page, visible_to

from . import domain, performance
from .common import audit, next_number, utc_now, where_given
from .domain import AuditAction, Audited, OrderStatus
from .models import Order, OrderLine, PerformanceFact, Quote, SalesCustomer
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
    await performance.record_facts(
        session,
        [
            performance.fact_row(
                FactKind.ORDER_PLACED,
                order.id,
                owner_id=order.owner_id,
                channel_id=order.channel_id,
                region_code=order.region_code,
                occurred_at=order.placed_at,
                amount=order.net_total,
            )
        ],
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
        **_about_order(order),
        vat_total=order.vat_total,
        payment_terms_days=order.payment_terms_days,
    )


def _about_order(order: Order) -> dict[str, Any]:
    """What `OrderPlaced` and `OrderCancelled` both say of the order, so a consumer that
    gets the cancellation first still knows the order it undoes."""
    return {
        "order_id": order.id,
        "order_number": order.number,
        "quote_id": order.quote_id,
        "customer_id": order.customer_id,
        "owner_id": order.owner_id,
        "region_code": order.region_code,
        "channel_id": order.channel_id,
        "lines": _event_lines(order),
        "net_total": order.net_total,
        "total": order.total,
        "currency": order.currency,
        "placed_at": order.placed_at,
        "order_date": order.order_date,
    }


def _event_lines(order: Order) -> list[OrderLineEvent]:
    return [
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
    ]


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
    status: OrderStatus | None = None,
    from_date: date | None = None,
    to_date: date | None = None,
) -> tuple[list[Order], int]:
    """Newest first, narrowed to the filters given; `from_date` and `to_date` bound the
    order date, both days included."""
    if from_date is not None and to_date is not None and from_date > to_date:
        raise errors.Invalid(
            f"from {from_date} is after to {to_date}",
            code="dates.from_after_to",
            params={"from_date": from_date, "to_date": to_date},
        )
    stmt = where_given(
        visible_to(select(Order), Order.owner_id, user),
        (Order.customer_id, customer_id),
        (Order.quote_id, quote_id),
        (Order.status, status),
    )
    if from_date is not None:
        stmt = stmt.where(Order.order_date >= from_date)
    if to_date is not None:
        stmt = stmt.where(Order.order_date <= to_date)
    return await fetch_page(session, stmt, page, Order.placed_at.desc(), Order.id)


async def cancel_order(session: AsyncSession, order_id: uuid.UUID, reason: str, user: User) -> Order:
    """Cancel an order before it is invoiced (409 once sales has heard of its invoice: the
    invoice is credited instead), announced with `OrderCancelled` in the same transaction.
    Its order fact leaves performance (orders and revenue), as if it had not been placed;
    accounting does not invoice it, or credits the invoice that crossed the cancellation."""
    order = await get_order(session, order_id, user, lock=True)
    refusal = domain.cancel_refusal(order.status, order.number, order.invoice_number)
    if refusal is not None:
        raise refusal
    now = utc_now()
    order.status = OrderStatus.CANCELLED
    order.cancelled_at, order.cancelled_by, order.cancel_reason = now, user.id, reason
    await session.execute(
        delete(PerformanceFact).where(
            PerformanceFact.kind == FactKind.ORDER_PLACED, PerformanceFact.subject_id == order.id
        )
    )
    await outbox.emit(
        session,
        OrderCancelled(
            **_about_order(order),
            reason=reason,
            cancelled_by=user.id,
            cancelled_at=now,
        ),
        actor=user.id,
    )
    await audit(session, Audited.ORDER, order.id, AuditAction.CANCELLED, user.id, {"reason": reason})
    return order


async def invoice_issued(session: AsyncSession, event: InvoiceIssued) -> None:
    """Accounting invoiced the order: from now on it is credited, not cancelled. A cancelled
    order keeps its status (accounting credits the invoice that crossed the cancellation)."""
    order = await session.get(Order, event.order_id, with_for_update=True)
    if order is None or order.invoice_id is not None:
        return
    order.invoice_id, order.invoice_number = event.invoice_id, event.number
    changes = {"invoice_number": event.number}
    await audit(session, Audited.ORDER, order.id, AuditAction.INVOICED, None, changes)


async def credit_note_issued(session: AsyncSession, event: CreditNoteIssued) -> None:
    """A credit note's net part comes off its order's revenue in performance, on the day it
    was issued, for the order's owner, channel and province; once per credit note. A note
    issued because the order was cancelled takes nothing: the cancellation already did."""
    if event.order_cancelled:
        return
    order = await session.get(Order, event.order_id)
    if order is None:
        return
    await performance.record_facts(
        session,
        [
            performance.fact_row(
                FactKind.CREDIT_NOTE,
                event.credit_note_id,
                owner_id=order.owner_id,
                channel_id=order.channel_id,
                region_code=order.region_code,
                occurred_at=event.issued_at,
                amount=-event.net_amount,
            )
        ],
    )
