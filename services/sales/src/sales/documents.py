"""The documents sales gives a customer: a quote and an order as PDF (`crm_kit.documents`),
Vietnamese unless English is asked for, with the buyer as sales' customer copy knows it
(legal name, tax code, billing address). Whoever may read the record may download it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from crm_kit import customer_copy
from crm_kit.auth import User
from crm_kit.documents import Document, Kind, Lang, Line, Party, Terms, render, seller

from . import orders, quotes
from .models import LineColumns
from .settings import Settings


def _lines(lines: Sequence[LineColumns]) -> list[Line]:
    return [
        Line(
            name=line.product_name,
            code=line.product_code,
            unit=line.unit,
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount_pct=Decimal(line.discount_pct),
            vat_rate_pct=Decimal(line.vat_rate_pct),
            net_amount=line.net_amount,
            vat_amount=line.vat_amount,
        )
        for line in lines
    ]


async def _buyer(session: AsyncSession, customer_id: uuid.UUID, name: str) -> Party:
    return Party.of_customer(await customer_copy.known(session, customer_id), name)


async def quote_pdf(
    session: AsyncSession, quote_id: uuid.UUID, user: User, settings: Settings, lang: Lang
) -> tuple[str, bytes]:
    """The quote's number and PDF: issued on the day it was sent (made, while a draft),
    valid until its `valid_until`."""
    quote = await quotes.get_quote(session, quote_id, user, settings)
    issued = settings.local_date(quote.sent_at or quote.created_at)
    doc = Document(
        kind=Kind.QUOTE,
        number=quote.number,
        issued_on=issued,
        seller=await seller.party(session),
        buyer=await _buyer(session, quote.customer_id, quote.customer_name),
        lines=_lines(quote.lines),
        currency=quote.currency,
        terms=Terms(valid_until=quote.valid_until, note=quote.note),
        lang=lang,
    )
    return quote.number, render(doc)


async def order_pdf(session: AsyncSession, order_id: uuid.UUID, user: User, lang: Lang) -> tuple[str, bytes]:
    """The order's number and PDF, dated on its order date, with its payment terms."""
    order = await orders.get_order(session, order_id, user)
    doc = Document(
        kind=Kind.ORDER,
        number=order.number,
        issued_on=order.order_date,
        seller=await seller.party(session),
        buyer=await _buyer(session, order.customer_id, order.customer_name),
        lines=_lines(order.lines),
        currency=order.currency,
        terms=Terms(payment_terms_days=order.payment_terms_days),
        lang=lang,
    )
    return order.number, render(doc)
