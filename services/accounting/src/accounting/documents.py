"""The documents accounting gives a customer: an invoice as PDF and as e-invoice data
(XML), with the seller from the company profile and the buyer as accounting's customer
copy knows it. Whoever may read the invoice may download them (else 404)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from crm_kit import customer_copy
from crm_kit.auth import User
from crm_kit.documents import Document, Kind, Lang, Line, Party, Terms, render, seller

from . import einvoice, invoices
from .models import Account, Invoice
from .settings import Settings


async def _document(session: AsyncSession, invoice: Invoice, lang: Lang) -> Document:
    account = await session.get(Account, invoice.customer_id)
    name = account.customer_name if account is not None else str(invoice.customer_id)
    buyer = Party.of_customer(await customer_copy.known(session, invoice.customer_id), name)
    return Document(
        kind=Kind.INVOICE,
        number=invoice.number,
        issued_on=invoice.issue_date,
        seller=await seller.party(session),
        buyer=buyer,
        lines=[
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
            for line in sorted(invoice.lines, key=lambda line: line.line_no)
        ],
        currency=invoice.currency,
        terms=Terms(payment_terms_days=invoice.payment_terms_days, due_date=invoice.due_date),
        lang=lang,
    )


async def invoice_pdf(
    session: AsyncSession, invoice_id: uuid.UUID, user: User, lang: Lang
) -> tuple[str, bytes]:
    invoice = (await invoices.get(session, invoice_id, user)).invoice
    return invoice.number, render(await _document(session, invoice, lang))


async def invoice_xml(
    session: AsyncSession, invoice_id: uuid.UUID, user: User, settings: Settings
) -> tuple[str, bytes]:
    """The e-invoice XML; its number (SHDon) is the invoice's place in its year's series."""
    invoice = (await invoices.get(session, invoice_id, user)).invoice
    sequence = int(invoice.number.rsplit("-", 1)[1])
    doc = await _document(session, invoice, "vi")
    return invoice.number, einvoice.build(doc, sequence, settings.einvoice_series_letters)
